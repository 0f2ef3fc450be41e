package lab.pokupai.connect.es;

import static lab.pokupai.connect.es.BulkOutcome.Verdict.DONE;
import static lab.pokupai.connect.es.BulkOutcome.Verdict.REJECT;
import static lab.pokupai.connect.es.BulkOutcome.Verdict.RETRY;
import static lab.pokupai.connect.es.BulkOutcome.verdict;
import static lab.pokupai.connect.es.Records.product;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import co.elastic.clients.elasticsearch._types.ErrorCause;
import co.elastic.clients.elasticsearch.core.BulkResponse;
import co.elastic.clients.elasticsearch.core.bulk.BulkResponseItem;
import co.elastic.clients.elasticsearch.core.bulk.OperationType;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

class BulkOutcomeTest {

    @Test
    void createdUpdatedAndDeletedAreDone() {
        assertEquals(DONE, verdict(OperationType.Index, 201));
        assertEquals(DONE, verdict(OperationType.Index, 200));
        assertEquals(DONE, verdict(OperationType.Delete, 200));
    }

    @Test
    void deletingADocumentThatIsNotThereIsDone() {
        assertEquals(DONE, verdict(OperationType.Delete, 404));
        assertEquals(REJECT, verdict(OperationType.Index, 404));
    }

    @Test
    void busyOrUnwellIsRetriedAndADocumentProblemIsRejected() {
        assertEquals(RETRY, verdict(OperationType.Index, 429));
        assertEquals(RETRY, verdict(OperationType.Index, 500));
        assertEquals(RETRY, verdict(OperationType.Delete, 503));
        assertEquals(REJECT, verdict(OperationType.Index, 400));
        assertEquals(REJECT, verdict(OperationType.Index, 409));
    }

    @Test
    void itemsArePairedWithTheirRecordsInOrder() {
        List<SinkRecord> sent = List.of(product("a", 1), product("b", 2), product("c", 3));
        BulkOutcome outcome = BulkOutcome.of(sent, response(
                item(OperationType.Index, "a", 201, null),
                item(OperationType.Index, "b", 400, ErrorCause.of(e -> e
                        .type("document_parsing_exception").reason("failed to parse field [price.amount]")
                        .causedBy(c -> c.type("number_format_exception").reason("For input string: \"дорого\"")))),
                item(OperationType.Delete, "c", 404, null)));

        assertFalse(outcome.needsRetry());
        assertEquals(1, outcome.rejected().size());
        Rejected rejected = outcome.rejected().get(0);
        assertEquals(sent.get(1), rejected.record());
        assertEquals("Elasticsearch refused the index of document 'b': 400 document_parsing_exception: "
                + "failed to parse field [price.amount]; caused by number_format_exception: "
                + "For input string: \"дорого\"", rejected.reason());
    }

    @Test
    void oneBusyItemMakesTheBatchRetried() {
        BulkOutcome outcome = BulkOutcome.of(List.of(product("a", 1), product("b", 2)), response(
                item(OperationType.Index, "a", 201, null),
                item(OperationType.Index, "b", 429, ErrorCause.of(e -> e
                        .type("es_rejected_execution_exception").reason("queue full")))));
        assertTrue(outcome.needsRetry());
        assertEquals("1 item(s) not taken, first: 429 es_rejected_execution_exception: queue full",
                outcome.retrySummary());
    }

    @Test
    void anAnswerThatDoesNotMatchTheRequestFailsLoudly() {
        assertThrows(ConnectException.class, () -> BulkOutcome.of(List.of(product("a", 1)), response()));
    }

    static BulkResponse response(BulkResponseItem... items) {
        return BulkResponse.of(r -> r.took(1).errors(false).items(List.of(items)));
    }

    static BulkResponseItem item(OperationType operation, String id, int status, ErrorCause error) {
        return BulkResponseItem.of(i -> i.operationType(operation).index("products").id(id)
                .status(status).error(error));
    }
}
