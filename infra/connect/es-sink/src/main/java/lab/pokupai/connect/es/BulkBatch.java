package lab.pokupai.connect.es;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import co.elastic.clients.elasticsearch.core.BulkRequest;
import co.elastic.clients.elasticsearch.core.bulk.BulkOperation;
import co.elastic.clients.util.BinaryData;
import co.elastic.clients.util.ContentType;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * One put()'s records as bulk operations: a value is indexed under id = key, a tombstone
 * deletes that id. Records that can never be documents (no key, value not a JSON object) are
 * set aside as rejected and not sent.
 */
final class BulkBatch {

    private final List<SinkRecord> sent = new ArrayList<>();
    private final List<BulkOperation> operations = new ArrayList<>();
    private final List<Rejected> rejected = new ArrayList<>();

    private BulkBatch() {
    }

    /** Operations for {@code records} in their order, all into {@code index}. */
    static BulkBatch of(Collection<SinkRecord> records, String index) {
        BulkBatch batch = new BulkBatch();
        for (SinkRecord record : records) {
            batch.add(record, index);
        }
        return batch;
    }

    private void add(SinkRecord record, String index) {
        String id = documentId(record.key());
        if (id == null) {
            rejected.add(new Rejected(record, "no usable key (" + describe(record.key())
                    + "): the document id is the record key"));
            return;
        }
        if (record.value() == null) {
            operations.add(BulkOperation.of(op -> op.delete(d -> d.index(index).id(id))));
        } else {
            byte[] source;
            try {
                source = JsonDocument.bulkSource(record.value());
            } catch (JsonDocument.InvalidDocument e) {
                rejected.add(new Rejected(record, e.getMessage()));
                return;
            }
            BinaryData document = BinaryData.of(source, ContentType.APPLICATION_JSON);
            operations.add(BulkOperation.of(op -> op.index(i -> i.index(index).id(id).document(document))));
        }
        sent.add(record);
    }

    private static String documentId(Object key) {
        if (key instanceof String s) {
            return s.isEmpty() ? null : s;
        }
        return key instanceof Number || key instanceof Boolean ? key.toString() : null;
    }

    private static String describe(Object key) {
        return key == null ? "null" : key instanceof String ? "empty" : key.getClass().getName();
    }

    /** The records behind {@link #operations()}, one for one. */
    List<SinkRecord> sent() {
        return sent;
    }

    List<BulkOperation> operations() {
        return operations;
    }

    List<Rejected> rejected() {
        return rejected;
    }

    /** True when there is nothing to send (every record was rejected, or none came). */
    boolean isEmpty() {
        return operations.isEmpty();
    }

    /** The one _bulk request of this batch. */
    BulkRequest request() {
        return BulkRequest.of(b -> b.operations(operations));
    }
}
