package lab.pokupai.connect.es;

import java.util.Comparator;

import org.apache.kafka.connect.sink.SinkRecord;

/** A record that will never be indexed, and why; it goes to the dead-letter topic. */
record Rejected(SinkRecord record, String reason) {

    /** The order the records had in their partitions, so the dead-letter topic keeps it. */
    static final Comparator<Rejected> LOG_ORDER = Comparator
            .comparing((Rejected r) -> r.record().topic())
            .thenComparing(r -> r.record().kafkaPartition())
            .thenComparingLong(r -> r.record().kafkaOffset());

    /** Where the record came from, for messages: {@code topic[partition]@offset key=…}. */
    String where() {
        return record.topic() + "[" + record.kafkaPartition() + "]@" + record.kafkaOffset()
                + " key=" + record.key();
    }
}
