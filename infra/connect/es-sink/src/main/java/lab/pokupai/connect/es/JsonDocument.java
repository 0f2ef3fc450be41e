package lab.pokupai.connect.es;

import java.nio.charset.StandardCharsets;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A record value checked to be one JSON object, as the one-line source of a bulk index op. */
final class JsonDocument {

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

    private JsonDocument() {
    }

    /**
     * The value's JSON text as one line of bytes, sent to Elasticsearch as it is (not parsed and
     * re-serialised, so numbers and key order stay the producer's).
     *
     * @param value the record value: a String (StringConverter) or byte[]
     * @return UTF-8 bytes without line breaks
     * @throws InvalidDocument when the value is not one JSON object; the message says why
     */
    static byte[] bulkSource(Object value) throws InvalidDocument {
        String text;
        if (value instanceof String s) {
            text = s;
        } else if (value instanceof byte[] bytes) {
            text = new String(bytes, StandardCharsets.UTF_8);
        } else {
            throw new InvalidDocument("value of type " + value.getClass().getName()
                    + " is not JSON text; use org.apache.kafka.connect.storage.StringConverter");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JacksonException e) {
            throw new InvalidDocument("value is not JSON: " + e.getOriginalMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw new InvalidDocument("value is not JSON: it is empty");
        }
        if (!node.isObject()) {
            throw new InvalidDocument("value is JSON but not an object: a document must be {…}");
        }
        // _bulk is newline-delimited; in valid JSON a line break can only be whitespace
        // between tokens (inside strings it must be escaped), so a space replaces it safely.
        return text.replace('\n', ' ').replace('\r', ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** The value cannot be a document. */
    static final class InvalidDocument extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidDocument(String reason) {
            super(reason);
        }
    }
}
