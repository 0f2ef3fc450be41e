package lab.pokupai.connect.es;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.junit.jupiter.api.Test;

class SinkConfigTest {

    static Map<String, String> minimal() {
        return new HashMap<>(Map.of(SinkConfig.URLS, "http://127.0.0.1:9200", SinkConfig.INDEX, "products"));
    }

    @Test
    void theDefaultsFillTheRest() {
        SinkConfig config = new SinkConfig(minimal());
        assertEquals(List.of(URI.create("http://127.0.0.1:9200")), config.urls());
        assertEquals("products", config.index());
        assertEquals(200L, config.backoffInitialMs());
        assertEquals(10_000L, config.backoffMaxMs());
        assertEquals(30_000, config.requestTimeoutMs());
    }

    @Test
    void urlsAndIndexAreRequired() {
        assertThrows(ConfigException.class, () -> new SinkConfig(Map.of(SinkConfig.INDEX, "products")));
        assertThrows(ConfigException.class, () -> new SinkConfig(Map.of(SinkConfig.URLS, "http://h:9200")));
    }

    @Test
    void aUrlMustBeHttpWithAHost() {
        for (String bad : List.of("127.0.0.1:9200", "ftp://h:21", "http://", "http://h:9200,:bad")) {
            Map<String, String> props = minimal();
            props.put(SinkConfig.URLS, bad);
            assertThrows(ConfigException.class, () -> new SinkConfig(props), bad);
        }
    }

    @Test
    void theMaxBackoffMayNotBeBelowTheInitial() {
        Map<String, String> props = minimal();
        props.put(SinkConfig.BACKOFF_INITIAL_MS, "5000");
        props.put(SinkConfig.BACKOFF_MAX_MS, "1000");
        ConfigException e = assertThrows(ConfigException.class, () -> new SinkConfig(props));
        assertTrue(e.getMessage().contains(SinkConfig.BACKOFF_MAX_MS), e.getMessage());
    }

    @Test
    void connectorValidationNamesTheBadSettings() {
        Map<String, String> props = minimal();
        props.put(SinkConfig.URLS, "nohost");
        props.put(SinkConfig.BACKOFF_INITIAL_MS, "5000");
        props.put(SinkConfig.BACKOFF_MAX_MS, "1000");
        Map<String, List<String>> errors = new HashMap<>();
        for (ConfigValue value : new ElasticsearchSinkConnector().validate(props).configValues()) {
            errors.put(value.name(), value.errorMessages());
        }
        assertEquals(1, errors.get(SinkConfig.URLS).size());
        assertEquals(1, errors.get(SinkConfig.BACKOFF_MAX_MS).size());
        assertTrue(errors.get(SinkConfig.INDEX).isEmpty());
    }

    @Test
    void everyTaskGetsTheConnectorsSettings() {
        ElasticsearchSinkConnector connector = new ElasticsearchSinkConnector();
        connector.start(minimal());
        assertEquals(List.of(minimal(), minimal(), minimal()), connector.taskConfigs(3));
        assertEquals(ElasticsearchSinkTask.class, connector.taskClass());
    }
}
