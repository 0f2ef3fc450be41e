package lab.pokupai.connect.es;

import static lab.pokupai.connect.es.Records.product;
import static lab.pokupai.connect.es.Records.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.net.ConnectException;
import java.util.List;
import java.util.Map;

import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

class ElasticsearchSinkTaskTest {

    private static final String CREATED = item("index", 201, null);
    private static final String BUSY = item("index", 429,
            "{\"type\":\"es_rejected_execution_exception\",\"reason\":\"queue full\"}");
    private static final String UNPARSEABLE = item("index", 400,
            "{\"type\":\"document_parsing_exception\",\"reason\":\"failed to parse field [price.amount]\"}");

    private final FakeElasticsearch elastic = new FakeElasticsearch();
    private final SinkTaskContext context = mock(SinkTaskContext.class);
    private final ErrantRecordReporter reporter = mock(ErrantRecordReporter.class);
    private ElasticsearchSinkTask task;

    @BeforeEach
    void start() {
        when(context.errantRecordReporter()).thenReturn(reporter);
        task = started(context);
    }

    private ElasticsearchSinkTask started(SinkTaskContext taskContext) {
        ElasticsearchSinkTask sinkTask = new ElasticsearchSinkTask(config -> elastic.transport());
        sinkTask.initialize(taskContext);
        sinkTask.start(Map.of(SinkConfig.URLS, "http://127.0.0.1:19200", SinkConfig.INDEX, "products",
                SinkConfig.BACKOFF_INITIAL_MS, "100", SinkConfig.BACKOFF_MAX_MS, "300"));
        return sinkTask;
    }

    @Test
    void onePutIsOneBulkRequestOfIndexAndDeleteLines() {
        SinkRecord value = product("p-1", 1);
        elastic.answer(200, bulk(CREATED, item("delete", 404, null)));

        task.put(List.of(value, record("p-2", null, 2)));

        assertEquals(List.of("{\"index\":{\"_id\":\"p-1\",\"_index\":\"products\"}}\n" + value.value() + "\n"
                + "{\"delete\":{\"_id\":\"p-2\",\"_index\":\"products\"}}\n"), elastic.bodies);
        verify(reporter, never()).report(any(), any());
        verify(context, never()).timeout(anyLong());
    }

    @Test
    void aBusyItemRetriesTheWholeBatchWithGrowingWaitsThatResetAfterSuccess() {
        List<SinkRecord> batch = List.of(product("p-1", 1), product("p-2", 2));
        elastic.answer(200, bulk(CREATED, BUSY)).answer(200, bulk(CREATED, BUSY))
                .answer(200, bulk(CREATED, BUSY)).answer(200, bulk(CREATED, BUSY))
                .answer(200, bulk(CREATED, CREATED)).answer(200, bulk(CREATED, BUSY));

        for (int attempt = 0; attempt < 4; attempt++) {
            RetriableException e = assertThrows(RetriableException.class, () -> task.put(batch));
            assertTrue(e.getMessage().contains("429 es_rejected_execution_exception"), e.getMessage());
        }
        task.put(batch);
        assertThrows(RetriableException.class, () -> task.put(batch));

        ArgumentCaptor<Long> waits = ArgumentCaptor.forClass(Long.class);
        verify(context, times(5)).timeout(waits.capture());
        assertEquals(List.of(100L, 200L, 300L, 300L, 100L), waits.getAllValues());
        assertEquals(6, elastic.bodies.size());
        assertEquals(elastic.bodies.get(0), elastic.bodies.get(4));
    }

    @Test
    void elasticsearchUnreachableIsRetried() {
        elastic.fail(new ConnectException("Connection refused"));
        RetriableException e = assertThrows(RetriableException.class, () -> task.put(List.of(product("p-1", 1))));
        assertTrue(e.getMessage().contains("Connection refused"), e.getMessage());
        verify(context).timeout(100);
    }

    @Test
    void aWholeRequestAnsweredWith503IsRetried() {
        elastic.answer(503, error(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE]"));
        assertThrows(RetriableException.class, () -> task.put(List.of(product("p-1", 1))));
        verify(context).timeout(100);
    }

    @Test
    void aWholeRequestRefusedFor401FailsTheTask() {
        elastic.answer(401, error(401, "security_exception", "missing authentication credentials"));
        var e = assertThrows(org.apache.kafka.connect.errors.ConnectException.class,
                () -> task.put(List.of(product("p-1", 1))));
        assertTrue(!(e instanceof RetriableException) && e.getMessage().contains("security_exception"),
                e.getMessage());
    }

    @Test
    void aDocumentElasticsearchRefusesGoesToTheDeadLetterTopicWithItsReason() {
        SinkRecord bad = product("p-2", 2);
        elastic.answer(200, bulk(CREATED, UNPARSEABLE));

        task.put(List.of(product("p-1", 1), bad));

        ArgumentCaptor<Throwable> error = ArgumentCaptor.forClass(Throwable.class);
        verify(reporter).report(eq(bad), error.capture());
        assertTrue(error.getValue() instanceof DocumentRejectedException);
        assertTrue(error.getValue().getMessage().contains("400 document_parsing_exception: failed to parse"),
                error.getValue().getMessage());
    }

    @Test
    void recordsThatAreNoDocumentsAreReportedInTheirOrderAndTheRestIsSent() {
        SinkRecord refused = product("p-0", 0);
        SinkRecord notJson = record("p-1", "not json", 1);
        SinkRecord noKey = record(null, "{}", 2);
        elastic.answer(200, bulk(UNPARSEABLE, CREATED));

        task.put(List.of(refused, notJson, noKey, product("p-3", 3)));

        assertEquals(1, elastic.bodies.size());
        ArgumentCaptor<SinkRecord> reported = ArgumentCaptor.forClass(SinkRecord.class);
        verify(reporter, times(3)).report(reported.capture(), any(DocumentRejectedException.class));
        assertEquals(List.of(refused, notJson, noKey), reported.getAllValues());
    }

    @Test
    void aBatchThatIsRetriedReportsItsRejectsOnlyOnceItGoesThrough() {
        SinkRecord bad = product("p-2", 2);
        elastic.answer(200, bulk(BUSY, UNPARSEABLE)).answer(200, bulk(CREATED, UNPARSEABLE));

        assertThrows(RetriableException.class, () -> task.put(List.of(product("p-1", 1), bad)));
        verify(reporter, never()).report(any(), any());
        task.put(List.of(product("p-1", 1), bad));
        verify(reporter).report(eq(bad), any());
    }

    @Test
    void withoutADeadLetterTopicARejectFailsTheTaskNamingTheRecord() {
        SinkTaskContext noReporter = mock(SinkTaskContext.class);
        ElasticsearchSinkTask strict = started(noReporter);
        elastic.answer(200, bulk(UNPARSEABLE));

        var e = assertThrows(org.apache.kafka.connect.errors.ConnectException.class,
                () -> strict.put(List.of(product("p-7", 7))));
        assertTrue(e.getMessage().startsWith(Records.TOPIC + "[0]@7 key=p-7: "), e.getMessage());
    }

    private static String bulk(String... items) {
        return "{\"took\":3,\"errors\":false,\"items\":[" + String.join(",", items) + "]}";
    }

    private static String item(String operation, int status, String error) {
        return "{\"" + operation + "\":{\"_index\":\"products\",\"_id\":\"x\",\"status\":" + status
                + (error == null ? "" : ",\"error\":" + error) + "}}";
    }

    private static String error(int status, String type, String reason) {
        return "{\"error\":{\"type\":\"" + type + "\",\"reason\":\"" + reason + "\"},\"status\":" + status + "}";
    }
}
