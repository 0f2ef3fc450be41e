package lab.pokupai.connect.es;

/**
 * Exponential backoff between retries of one batch: initial, twice that, … up to max; back to
 * initial after a success. No jitter: each task retries its own batch, and the tasks of one
 * connector do not fail in lock-step often enough to need it.
 */
final class Backoff {

    private final long initialMs;
    private final long maxMs;
    private long nextMs;

    Backoff(long initialMs, long maxMs) {
        if (initialMs < 1 || maxMs < initialMs) {
            throw new IllegalArgumentException("need 1 <= initial <= max, got " + initialMs + ", " + maxMs);
        }
        this.initialMs = initialMs;
        this.maxMs = maxMs;
        this.nextMs = initialMs;
    }

    /** The wait before the coming retry; the one after it is twice as long, up to max. */
    long next() {
        long wait = nextMs;
        nextMs = nextMs > maxMs / 2 ? maxMs : nextMs * 2;
        return wait;
    }

    /** A batch went through: the next failure waits the initial time again. */
    void reset() {
        nextMs = initialMs;
    }
}
