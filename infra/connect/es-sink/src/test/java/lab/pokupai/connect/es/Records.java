package lab.pokupai.connect.es;

import org.apache.kafka.connect.sink.SinkRecord;

/** Sink records as StringConverter hands them to the task. */
final class Records {

    static final String TOPIC = "primary.shop-clear";

    private Records() {
    }

    static SinkRecord record(Object key, Object value, long offset) {
        return new SinkRecord(TOPIC, 0, null, key, null, value, offset);
    }

    static SinkRecord product(String id, long offset) {
        return record(id, "{\"product_id\":\"" + id + "\",\"price\":{\"amount\":9.99}}", offset);
    }
}
