/*
 * kaffe golden vectors: produce a fixed script of records with the official Java client.
 *
 * Usage: java -cp '<kafka lib>/*' GoldenProducer.java <bootstrap> <job> [<job>...]
 * where every job is "topic,codec,mode,script-file" and mode is plain, idempotent or
 * transactional. Run by `python -m golden` (tools/golden/generate.py), which writes the script
 * files; this program only replays them.
 *
 * Script lines (fields separated by single spaces):
 *   SEND <timestamp-ms> <key> <value> <header-count> [<header-key> <header-value>]...
 *   FLUSH | BEGIN | COMMIT | ABORT
 * A payload is "-" for null, otherwise "x" followed by lower-case hex ("x" alone is empty).
 * Header keys are encoded the same way (UTF-8 bytes) and are never null.
 *
 * Every record goes to partition 0. linger.ms is long and batch.size large, so a batch holds
 * exactly the records sent between two FLUSH (or COMMIT/ABORT) lines.
 */

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class GoldenProducer {
    private static final long WAIT_SECONDS = 60;

    private GoldenProducer() {}

    private static byte[] payload(String field) {
        if (field.equals("-")) {
            return null;
        }
        if (!field.startsWith("x") || field.length() % 2 != 1) {
            throw new IllegalArgumentException("bad payload field: " + field);
        }
        byte[] out = new byte[(field.length() - 1) / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(field.substring(1 + 2 * i, 3 + 2 * i), 16);
        }
        return out;
    }

    private static Properties config(String bootstrap, String topic, String codec, String mode) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "kaffe-golden-" + topic);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "1048576");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
        switch (mode) {
            case "plain":
                p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
                break;
            case "idempotent":
                p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
                break;
            case "transactional":
                p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
                p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "kaffe-golden-" + topic);
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
        return p;
    }

    private static void awaitAll(List<Future<RecordMetadata>> pending) throws Exception {
        for (Future<RecordMetadata> f : pending) {
            f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
        pending.clear();
    }

    private static void runJob(String bootstrap, String job) throws Exception {
        String[] parts = job.split(",", 4);
        if (parts.length != 4) {
            throw new IllegalArgumentException("job must be topic,codec,mode,script: " + job);
        }
        String topic = parts[0];
        String codec = parts[1];
        String mode = parts[2];
        List<String> lines = Files.readAllLines(Path.of(parts[3]), StandardCharsets.US_ASCII);
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(config(bootstrap, topic, codec, mode))) {
            if (mode.equals("transactional")) {
                producer.initTransactions();
            }
            List<Future<RecordMetadata>> pending = new ArrayList<>();
            for (String line : lines) {
                if (line.isEmpty()) {
                    continue;
                }
                String[] f = line.split(" ", -1);
                switch (f[0]) {
                    case "SEND": {
                        long timestamp = Long.parseLong(f[1]);
                        byte[] key = payload(f[2]);
                        byte[] value = payload(f[3]);
                        int count = Integer.parseInt(f[4]);
                        if (f.length != 5 + 2 * count) {
                            throw new IllegalArgumentException("bad SEND line: " + line);
                        }
                        List<Header> headers = new ArrayList<>();
                        for (int i = 0; i < count; i++) {
                            byte[] hkey = payload(f[5 + 2 * i]);
                            String name = new String(hkey, StandardCharsets.UTF_8);
                            headers.add(new RecordHeader(name, payload(f[6 + 2 * i])));
                        }
                        pending.add(producer.send(
                                new ProducerRecord<>(topic, 0, timestamp, key, value, headers)));
                        sent++;
                        break;
                    }
                    case "FLUSH":
                        producer.flush();
                        awaitAll(pending);
                        break;
                    case "BEGIN":
                        producer.beginTransaction();
                        break;
                    case "COMMIT":
                        producer.commitTransaction();
                        awaitAll(pending);
                        break;
                    case "ABORT":
                        producer.abortTransaction();
                        pending.clear();
                        break;
                    default:
                        throw new IllegalArgumentException("unknown script line: " + line);
                }
            }
            producer.flush();
            awaitAll(pending);
            producer.close(Duration.ofSeconds(WAIT_SECONDS));
        }
        System.out.println("done " + topic + " codec=" + codec + " mode=" + mode + " sent=" + sent);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: GoldenProducer <bootstrap> <topic,codec,mode,script>...");
            System.exit(2);
        }
        for (int i = 1; i < args.length; i++) {
            runJob(args[0], args[i]);
        }
    }
}
