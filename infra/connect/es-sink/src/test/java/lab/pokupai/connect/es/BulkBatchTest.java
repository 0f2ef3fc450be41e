package lab.pokupai.connect.es;

import static lab.pokupai.connect.es.Records.product;
import static lab.pokupai.connect.es.Records.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import co.elastic.clients.elasticsearch.core.bulk.BulkOperation;
import co.elastic.clients.util.BinaryData;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

class BulkBatchTest {

    @Test
    void aValueIsIndexedUnderItsKeyAndATombstoneDeletesIt() throws Exception {
        SinkRecord value = product("p-1", 10);
        SinkRecord tombstone = record("p-1", null, 11);
        BulkBatch batch = BulkBatch.of(List.of(value, tombstone), "products");

        List<BulkOperation> ops = batch.operations();
        assertEquals(2, ops.size());
        assertTrue(ops.get(0).isIndex());
        assertEquals("products", ops.get(0).index().index());
        assertEquals("p-1", ops.get(0).index().id());
        BinaryData document = (BinaryData) ops.get(0).index().document();
        assertEquals(value.value(), StandardCharsets.UTF_8.decode(document.asByteBuffer()).toString());
        assertTrue(ops.get(1).isDelete());
        assertEquals("p-1", ops.get(1).delete().id());
        assertEquals(List.of(value, tombstone), batch.sent());
        assertTrue(batch.rejected().isEmpty());
    }

    @Test
    void recordsWithoutAKeyOrWithoutAJsonObjectAreSetAsideWithTheReason() {
        SinkRecord noKey = record(null, "{\"a\":1}", 1);
        SinkRecord emptyKey = record("", null, 2);
        SinkRecord notJson = record("p-2", "цена: дорого", 3);
        SinkRecord good = product("p-3", 4);
        BulkBatch batch = BulkBatch.of(List.of(noKey, emptyKey, notJson, good), "products");

        assertEquals(List.of(good), batch.sent());
        assertEquals(List.of(noKey, emptyKey, notJson),
                batch.rejected().stream().map(Rejected::record).toList());
        assertTrue(batch.rejected().get(0).reason().startsWith("no usable key (null)"));
        assertTrue(batch.rejected().get(1).reason().startsWith("no usable key (empty)"));
        assertTrue(batch.rejected().get(2).reason().startsWith("value is not JSON"));
    }

    @Test
    void aNumericKeyIsTheIdAsText() {
        BulkBatch batch = BulkBatch.of(List.of(record(42, null, 1)), "products");
        assertEquals("42", batch.operations().get(0).delete().id());
    }

    @Test
    void aBatchOfRejectsOnlyHasNothingToSend() {
        assertTrue(BulkBatch.of(List.of(record(null, null, 1)), "products").isEmpty());
    }
}
