package lab.pokupai.connect.es;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

/** Kafka Connect sink into one Elasticsearch index: document id = record key, tombstone = delete. */
public final class ElasticsearchSinkConnector extends SinkConnector {

    private Map<String, String> props;

    /** The jar's Implementation-Version ("dev" when run from classes, as in unit tests). */
    static String pluginVersion() {
        String version = ElasticsearchSinkConnector.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }

    @Override
    public String version() {
        return pluginVersion();
    }

    @Override
    public void start(Map<String, String> props) {
        new SinkConfig(props);  // fails the connector at once on a bad setting
        this.props = Map.copyOf(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return ElasticsearchSinkTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        return Collections.nCopies(maxTasks, props);
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return SinkConfig.CONFIG_DEF;
    }

    /** ConfigDef's checks of each setting, plus the one that spans two (backoff max ≥ initial). */
    @Override
    public Config validate(Map<String, String> connectorConfigs) {
        Config config = super.validate(connectorConfigs);
        Map<String, ConfigValue> values = new HashMap<>();
        config.configValues().forEach(value -> values.put(value.name(), value));
        ConfigValue initial = values.get(SinkConfig.BACKOFF_INITIAL_MS);
        ConfigValue max = values.get(SinkConfig.BACKOFF_MAX_MS);
        if (initial.errorMessages().isEmpty() && max.errorMessages().isEmpty()) {
            String problem = SinkConfig.backoffProblem((Long) initial.value(), (Long) max.value());
            if (problem != null) {
                max.addErrorMessage(problem);
            }
        }
        return config;
    }
}
