package lab.pokupai.connect.es;

import org.apache.kafka.connect.errors.ConnectException;

/** The sink will never index this record; its message is the reason the dead-letter headers carry. */
public final class DocumentRejectedException extends ConnectException {

    private static final long serialVersionUID = 1L;

    public DocumentRejectedException(String reason) {
        super(reason);
    }
}
