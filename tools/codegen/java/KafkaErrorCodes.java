// Prints Kafka's error-code table from kafka-clients itself: code, NAME, retriable, tab separated.
// "retriable" is what the protocol guide's error table shows: whether the error's exception
// extends org.apache.kafka.common.errors.RetriableException. Used to write and to check
// python/kaffe/_protocol_errors.py. Run (from the repository root):
//
//   java -cp "$HOME/.cache/kaffe/kafka/4.1.2/lib/*" tools/codegen/java/KafkaErrorCodes.java

import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class KafkaErrorCodes {
    public static void main(String[] args) {
        for (Errors e : Errors.values()) {
            boolean retriable = e.exception() instanceof RetriableException;
            System.out.println(e.code() + "\t" + e.name() + "\t" + retriable);
        }
    }
}
