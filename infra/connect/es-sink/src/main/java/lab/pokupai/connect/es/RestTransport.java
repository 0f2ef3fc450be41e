package lab.pokupai.connect.es;

import java.net.URI;

import co.elastic.clients.json.jackson.Jackson3JsonpMapper;
import co.elastic.clients.transport.ElasticsearchTransport;
import co.elastic.clients.transport.rest_client.RestClientTransport;
import org.apache.http.HttpHost;
import org.elasticsearch.client.RestClient;

/** The official client's transport over its low-level REST client, as the config says. */
final class RestTransport {

    private RestTransport() {
    }

    /** A transport to {@code es.urls} with {@code request.timeout.ms} to connect and to answer. */
    static ElasticsearchTransport of(SinkConfig config) {
        HttpHost[] hosts = config.urls().stream().map(RestTransport::host).toArray(HttpHost[]::new);
        int timeoutMs = config.requestTimeoutMs();
        RestClient rest = RestClient.builder(hosts)
                .setRequestConfigCallback(request -> request
                        .setConnectTimeout(timeoutMs).setSocketTimeout(timeoutMs))
                .build();
        // Jackson 3 is the JSON library elasticsearch-java 8.19 brings at run time
        return new RestClientTransport(rest, new Jackson3JsonpMapper());
    }

    private static HttpHost host(URI url) {
        return new HttpHost(url.getHost(), url.getPort(), url.getScheme());
    }
}
