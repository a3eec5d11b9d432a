// Prints Kafka's error-code table from kafka-clients itself, one error a line, tab separated:
// code, NAME, retriable, default message. "retriable" is what the protocol guide's error table
// shows: whether the error's exception extends
// org.apache.kafka.common.errors.RetriableException. The message is Errors.X.message(), the text
// the exception carries when the broker sends none (for NONE it is "NONE").
//
// tools/codegen runs it (with the pinned kafka-clients jar and slf4j-api on the class path) to
// write python/kaffe/_protocol/error_codes.py and error_classes.py. By hand, from the repository
// root:
//
//   java -cp "$HOME/.cache/kaffe/kafka/4.1.2/lib/*" tools/codegen/java/KafkaErrorCodes.java

import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class KafkaErrorCodes {
    public static void main(String[] args) {
        for (Errors e : Errors.values()) {
            boolean retriable = e.exception() instanceof RetriableException;
            String message = e.message().replace('\t', ' ').replace('\n', ' ');
            System.out.println(e.code() + "\t" + e.name() + "\t" + retriable + "\t" + message);
        }
    }
}
