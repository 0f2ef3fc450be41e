package lab.pokupai.connect.es;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void doublesUpToTheMaxAndStaysThere() {
        Backoff backoff = new Backoff(100, 1000);
        List<Long> waits = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            waits.add(backoff.next());
        }
        assertEquals(List.of(100L, 200L, 400L, 800L, 1000L, 1000L, 1000L), waits);
    }

    @Test
    void resetStartsAgainFromTheInitialWait() {
        Backoff backoff = new Backoff(100, 1000);
        backoff.next();
        backoff.next();
        backoff.reset();
        assertEquals(100L, backoff.next());
    }

    @Test
    void aHugeMaxDoesNotOverflow() {
        Backoff backoff = new Backoff(Long.MAX_VALUE / 2 + 1, Long.MAX_VALUE);
        backoff.next();
        assertEquals(Long.MAX_VALUE, backoff.next());
    }

    @Test
    void refusesAMaxBelowTheInitialWait() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(1000, 100));
    }
}
