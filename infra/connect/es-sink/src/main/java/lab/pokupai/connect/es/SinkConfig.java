package lab.pokupai.connect.es;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/** The sink's own settings, validated by Connect before a task starts. */
public final class SinkConfig extends AbstractConfig {

    public static final String URLS = "es.urls";
    public static final String INDEX = "es.index";
    public static final String BACKOFF_INITIAL_MS = "retry.backoff.initial.ms";
    public static final String BACKOFF_MAX_MS = "retry.backoff.max.ms";
    public static final String REQUEST_TIMEOUT_MS = "request.timeout.ms";

    public static final ConfigDef CONFIG_DEF = new ConfigDef()
            .define(URLS, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, SinkConfig::checkUrls,
                    Importance.HIGH, "Elasticsearch base URLs, comma-separated "
                            + "(http://host:port); the client spreads requests over them.")
            .define(INDEX, Type.STRING, ConfigDef.NO_DEFAULT_VALUE,
                    new ConfigDef.NonEmptyStringWithoutControlChars(), Importance.HIGH,
                    "The index every record is written to; document id = record key.")
            .define(BACKOFF_INITIAL_MS, Type.LONG, 200L, ConfigDef.Range.atLeast(1),
                    Importance.MEDIUM, "Wait before the first retry of a batch Elasticsearch "
                            + "could not take (unreachable, 429, 5xx); doubles on each retry.")
            .define(BACKOFF_MAX_MS, Type.LONG, 10_000L, ConfigDef.Range.atLeast(1),
                    Importance.MEDIUM, "The longest wait between retries (at least "
                            + BACKOFF_INITIAL_MS + ").")
            .define(REQUEST_TIMEOUT_MS, Type.INT, 30_000, ConfigDef.Range.atLeast(1),
                    Importance.LOW, "Connect and socket timeout of one _bulk request.");

    public SinkConfig(Map<String, String> props) {
        super(CONFIG_DEF, props);
        String problem = backoffProblem(backoffInitialMs(), backoffMaxMs());
        if (problem != null) {
            throw new ConfigException(BACKOFF_MAX_MS, backoffMaxMs(), problem);
        }
    }

    public List<URI> urls() {
        return getList(URLS).stream().map(URI::create).toList();
    }

    public String index() {
        return getString(INDEX);
    }

    public long backoffInitialMs() {
        return getLong(BACKOFF_INITIAL_MS);
    }

    public long backoffMaxMs() {
        return getLong(BACKOFF_MAX_MS);
    }

    public int requestTimeoutMs() {
        return getInt(REQUEST_TIMEOUT_MS);
    }

    /** Why the two backoff bounds do not fit together, or null when they do. */
    static String backoffProblem(long initialMs, long maxMs) {
        return maxMs < initialMs
                ? "must be at least " + BACKOFF_INITIAL_MS + " (" + initialMs + ")" : null;
    }

    private static void checkUrls(String name, Object value) {
        @SuppressWarnings("unchecked")
        List<String> urls = (List<String>) value;
        if (urls == null || urls.isEmpty()) {
            throw new ConfigException(name, value, "give at least one URL, e.g. http://127.0.0.1:9200");
        }
        for (String url : urls) {
            try {
                URI uri = new URI(url);
                if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
                        || uri.getHost() == null) {
                    throw new ConfigException(name, url, "not an http(s)://host[:port] URL");
                }
            } catch (URISyntaxException e) {
                throw new ConfigException(name, url, "not a URL: " + e.getMessage());
            }
        }
    }
}
