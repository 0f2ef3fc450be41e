package lab.pokupai.connect.es;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonDocumentTest {

    @Test
    void anObjectIsSentAsTheProducerWroteIt() throws Exception {
        String json = "{\"b\":1,\"a\":0.1000000000000000055511151231257827,\"name\":\"Часы\"}";
        assertEquals(json, new String(JsonDocument.bulkSource(json), StandardCharsets.UTF_8));
    }

    @Test
    void bytesAreAcceptedToo() throws Exception {
        byte[] json = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
        assertEquals("{\"a\":1}", new String(JsonDocument.bulkSource(json), StandardCharsets.UTF_8));
    }

    @Test
    void lineBreaksBetweenTokensBecomeSpacesSoTheBulkBodyStaysOneLinePerDocument() throws Exception {
        String pretty = "{\r\n  \"name\": \"a\\nb\",\n  \"n\": 1\n}";
        String line = new String(JsonDocument.bulkSource(pretty), StandardCharsets.UTF_8);
        assertEquals("{    \"name\": \"a\\nb\",   \"n\": 1 }", line);
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json", "{\"a\":", "{\"a\":1} {\"b\":2}", "", "{\"a\":\"x\ny\"}"})
    void textThatIsNotOneJsonObjectIsInvalid(String value) {
        JsonDocument.InvalidDocument e = assertThrows(JsonDocument.InvalidDocument.class,
                () -> JsonDocument.bulkSource(value));
        assertTrue(e.getMessage().startsWith("value is not JSON"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"[1,2]", "42", "\"text\"", "null"})
    void jsonThatIsNotAnObjectIsInvalid(String value) {
        JsonDocument.InvalidDocument e = assertThrows(JsonDocument.InvalidDocument.class,
                () -> JsonDocument.bulkSource(value));
        assertTrue(e.getMessage().contains("not an object"), e.getMessage());
    }

    @Test
    void aValueThatIsNotTextNamesTheConverterToUse() {
        JsonDocument.InvalidDocument e = assertThrows(JsonDocument.InvalidDocument.class,
                () -> JsonDocument.bulkSource(java.util.Map.of("a", 1)));
        assertTrue(e.getMessage().contains("StringConverter"), e.getMessage());
    }
}
