package lab.pokupai.connect.es;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import co.elastic.clients.elasticsearch._types.ElasticsearchException;
import co.elastic.clients.transport.ElasticsearchTransport;
import co.elastic.clients.transport.TransportException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes each put()'s records to Elasticsearch in one _bulk request.
 *
 * <p>When Elasticsearch cannot take the batch (unreachable, 429, 5xx) the task asks Connect to
 * wait ({@code context.timeout}, doubling up to the configured max) and throws
 * {@link RetriableException}; Connect then hands the same records to put() again. Indexing and
 * deleting by id are idempotent, so re-sending the items that did pass is harmless. Records
 * that can never be indexed go to the errant record reporter (the dead-letter topic) once the
 * rest of the batch is in.
 */
public final class ElasticsearchSinkTask extends SinkTask {

    private static final Logger LOG = LoggerFactory.getLogger(ElasticsearchSinkTask.class);

    private final Function<SinkConfig, ElasticsearchTransport> transports;
    private SinkConfig config;
    private ElasticsearchClient client;
    private Backoff backoff;
    private ErrantRecordReporter reporter;

    public ElasticsearchSinkTask() {
        this(RestTransport::of);
    }

    /** A task whose requests go through {@code transports} (tests give a fake HTTP client). */
    ElasticsearchSinkTask(Function<SinkConfig, ElasticsearchTransport> transports) {
        this.transports = transports;
    }

    @Override
    public String version() {
        return ElasticsearchSinkConnector.pluginVersion();
    }

    @Override
    public void start(Map<String, String> props) {
        config = new SinkConfig(props);
        backoff = new Backoff(config.backoffInitialMs(), config.backoffMaxMs());
        // null when the connector has neither a dead-letter topic nor error logging
        reporter = context.errantRecordReporter();
        client = new ElasticsearchClient(transports.apply(config));
        LOG.info("writing to index {} at {}", config.index(), config.urls());
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        BulkBatch batch = BulkBatch.of(records, config.index());
        List<Rejected> rejected = new ArrayList<>(batch.rejected());
        if (!batch.isEmpty()) {
            BulkOutcome outcome = send(batch);
            if (outcome.needsRetry()) {
                throw retryLater(batch, outcome.retrySummary());
            }
            rejected.addAll(outcome.rejected());
        }
        backoff.reset();
        // reported only now, so a retried batch does not dead-letter its rejects twice
        rejected.sort(Rejected.LOG_ORDER);
        rejected.forEach(this::reject);
    }

    private BulkOutcome send(BulkBatch batch) {
        try {
            return BulkOutcome.of(batch.sent(), client.bulk(batch.request()));
        } catch (TransportException e) {
            if (e.statusCode() > 0 && !BulkOutcome.retriable(e.statusCode())) {
                throw new ConnectException("Elasticsearch refused the _bulk request: " + e.getMessage(), e);
            }
            throw retryLater(batch, e.getMessage());
        } catch (IOException e) {
            throw retryLater(batch, "Elasticsearch unreachable at " + config.urls() + ": " + e);
        } catch (ElasticsearchException e) {
            if (BulkOutcome.retriable(e.status())) {
                throw retryLater(batch, e.getMessage());
            }
            // the whole request refused (401, 403, 413…): a retry will not help, a person must
            throw new ConnectException("Elasticsearch refused the _bulk request: " + e.getMessage(), e);
        }
    }

    private RetriableException retryLater(BulkBatch batch, String why) {
        long waitMs = backoff.next();
        context.timeout(waitMs);
        String message = why + "; the batch of " + batch.sent().size() + " operation(s) is retried in "
                + waitMs + " ms";
        LOG.warn(message);
        return new RetriableException(message);
    }

    private void reject(Rejected rejected) {
        DocumentRejectedException error = new DocumentRejectedException(rejected.reason());
        if (reporter == null) {
            throw new ConnectException(rejected.where() + ": " + rejected.reason()
                    + "; set errors.tolerance=all and errors.deadletterqueue.topic.name to set "
                    + "such records aside", error);
        }
        LOG.debug("dead-lettering {}: {}", rejected.where(), rejected.reason());
        // Asynchronous: Connect waits for these sends before it commits the offsets.
        reporter.report(rejected.record(), error);
    }

    /**
     * Nothing to do: put() returns only once Elasticsearch has taken every record (or they were
     * reported), so the offsets Connect commits after it are safe as they are.
     */
    @Override
    public void flush(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    }

    @Override
    public void stop() {
        if (client == null) {
            return;
        }
        try {
            client._transport().close();
        } catch (IOException e) {
            LOG.warn("closing the Elasticsearch client: {}", e.toString());
        }
    }
}
