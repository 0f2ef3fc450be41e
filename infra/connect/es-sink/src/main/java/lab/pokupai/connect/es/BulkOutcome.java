package lab.pokupai.connect.es;

import java.util.ArrayList;
import java.util.List;

import co.elastic.clients.elasticsearch._types.ErrorCause;
import co.elastic.clients.elasticsearch.core.BulkResponse;
import co.elastic.clients.elasticsearch.core.bulk.BulkResponseItem;
import co.elastic.clients.elasticsearch.core.bulk.OperationType;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;

/** What Elasticsearch made of each operation of one _bulk request: done, retry, or reject. */
final class BulkOutcome {

    enum Verdict { DONE, RETRY, REJECT }

    private final List<Rejected> rejected = new ArrayList<>();
    private int retries;
    private String firstRetryReason;

    private BulkOutcome() {
    }

    /**
     * The verdict on one item. 2xx is done, and so is a delete of a document that is not there
     * (404); 429 and 5xx are Elasticsearch busy or unwell, worth retrying; any other status is
     * about the document itself (mapping, parse, id too long) and will not change on retry.
     */
    static Verdict verdict(OperationType operation, int status) {
        if (status >= 200 && status < 300 || operation == OperationType.Delete && status == 404) {
            return Verdict.DONE;
        }
        return retriable(status) ? Verdict.RETRY : Verdict.REJECT;
    }

    /** Whether a failure with this HTTP status may pass on retry (429, 5xx). */
    static boolean retriable(int status) {
        return status == 429 || status >= 500;
    }

    /**
     * Pairs the response's items with the records sent (Elasticsearch answers in request
     * order).
     *
     * @throws ConnectException when the item count does not match the request
     */
    static BulkOutcome of(List<SinkRecord> sent, BulkResponse response) {
        List<BulkResponseItem> items = response.items();
        if (items.size() != sent.size()) {
            throw new ConnectException("Elasticsearch answered " + items.size()
                    + " bulk items for " + sent.size() + " operations");
        }
        BulkOutcome outcome = new BulkOutcome();
        for (int i = 0; i < items.size(); i++) {
            BulkResponseItem item = items.get(i);
            switch (verdict(item.operationType(), item.status())) {
                case DONE -> { }
                case RETRY -> outcome.retry(describe(item));
                case REJECT -> outcome.rejected.add(new Rejected(sent.get(i),
                        "Elasticsearch refused the " + item.operationType().jsonValue()
                                + " of document '" + item.id() + "': " + describe(item)));
            }
        }
        return outcome;
    }

    private void retry(String reason) {
        if (retries++ == 0) {
            firstRetryReason = reason;
        }
    }

    /** True when some item may pass on retry: then the whole batch is retried. */
    boolean needsRetry() {
        return retries > 0;
    }

    /** e.g. {@code 3 items not taken, first: 429 es_rejected_execution_exception: …}. */
    String retrySummary() {
        return retries + " item(s) not taken, first: " + firstRetryReason;
    }

    /** Items Elasticsearch refused for good, with its reason. */
    List<Rejected> rejected() {
        return rejected;
    }

    private static String describe(BulkResponseItem item) {
        ErrorCause error = item.error();
        return item.status() + (error == null ? "" : " " + describe(error));
    }

    private static String describe(ErrorCause error) {
        String text = error.type() + ": " + error.reason();
        return error.causedBy() == null ? text : text + "; caused by " + describe(error.causedBy());
    }
}
