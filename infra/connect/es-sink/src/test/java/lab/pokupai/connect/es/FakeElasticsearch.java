package lab.pokupai.connect.es;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import co.elastic.clients.json.jackson.Jackson3JsonpMapper;
import co.elastic.clients.transport.ElasticsearchTransport;
import co.elastic.clients.transport.ElasticsearchTransportBase;
import co.elastic.clients.transport.TransportOptions;
import co.elastic.clients.transport.http.TransportHttpClient;
import co.elastic.clients.util.BinaryData;

/**
 * The HTTP side of Elasticsearch, scripted: each request's body is kept, and the next queued
 * answer (a status and JSON body, or an IOException) comes back. The real client serialises
 * the requests and parses the answers.
 */
final class FakeElasticsearch implements TransportHttpClient {

    final List<String> bodies = new ArrayList<>();
    private final Deque<Object> answers = new ArrayDeque<>();

    FakeElasticsearch answer(int status, String json) {
        answers.add(new Answer(status, json));
        return this;
    }

    FakeElasticsearch fail(IOException error) {
        answers.add(error);
        return this;
    }

    ElasticsearchTransport transport() {
        return new ElasticsearchTransportBase(this, null, new Jackson3JsonpMapper()) { };
    }

    @Override
    public Response performRequest(String endpointId, Node node, Request request, TransportOptions options)
            throws IOException {
        StringBuilder body = new StringBuilder();
        for (ByteBuffer buffer : request.body()) {
            body.append(StandardCharsets.UTF_8.decode(buffer.duplicate()));
        }
        bodies.add(body.toString());
        Object next = answers.remove();
        if (next instanceof IOException error) {
            throw error;
        }
        return (Answer) next;
    }

    @Override
    public CompletableFuture<Response> performRequestAsync(String endpointId, Node node, Request request,
                                                           TransportOptions options) {
        throw new UnsupportedOperationException("the sink only sends synchronously");
    }

    @Override
    public void close() {
    }

    private record Answer(int status, String json) implements Response {
        @Override
        public Node node() {
            return null;
        }

        @Override
        public int statusCode() {
            return status;
        }

        @Override
        public String header(String name) {
            return headers().get(name.toLowerCase());
        }

        @Override
        public List<String> headers(String name) {
            String value = header(name);
            return value == null ? List.of() : List.of(value);
        }

        private static Map<String, String> headers() {
            return Map.of("x-elastic-product", "Elasticsearch", "content-type", "application/json");
        }

        @Override
        public BinaryData body() {
            return BinaryData.of(json.getBytes(StandardCharsets.UTF_8), "application/json");
        }

        @Override
        public Object originalResponse() {
            return this;
        }

        @Override
        public void close() {
        }
    }
}
