// Part of kaffe's test harness (tools/kafka_harness). Not part of kaffe itself.
//
// A long-lived Kafka Admin client driven by JSON lines:
//   java -cp "<kafka lib>/*:<classes>" KafkaAdminTool <connection.properties>
// stdin : one request per line, e.g. {"id":3,"op":"create_topic","name":"t","partitions":6,
//         "replication_factor":1,"configs":{},"timeout_ms":10000}
// stdout: one answer per line, {"id":3,"ok":true,"result":...} or
//         {"id":3,"ok":false,"error_class":"...","error":"..."}
// The first line printed is {"id":0,"ok":true,"result":{"ready":true}} once the client exists.
// The properties file holds the Admin client config (bootstrap.servers, security.protocol,
// sasl.*, ssl.*), so the same tool checks SASL/SSL listeners independently of kaffe.
// Jackson comes from Kafka's own runtime dependencies; nothing else is needed.

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DeleteTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;

public final class KafkaAdminTool {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int DEFAULT_TIMEOUT_MS = 15000;

    private KafkaAdminTool() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: KafkaAdminTool <connection.properties>");
            System.exit(2);
        }
        // Keep stdout for the protocol only: anything else printing to System.out goes to stderr.
        PrintStream protocol =
                new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);

        Properties props = new Properties();
        props.put("client.id", "kaffe-harness-admin");
        props.put("request.timeout.ms", "5000");
        props.put("default.api.timeout.ms", String.valueOf(DEFAULT_TIMEOUT_MS));
        props.put("retry.backoff.ms", "100");
        props.put("reconnect.backoff.max.ms", "1000");
        try (InputStream in = new FileInputStream(args[0])) {
            props.load(in);
        }

        try (Admin admin = Admin.create(props)) {
            ObjectNode ready = JSON.createObjectNode();
            ready.put("ready", true);
            protocol.println(answer(0, ready));
            BufferedReader reader =
                    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                long id = -1;
                try {
                    JsonNode req = JSON.readTree(line);
                    id = req.path("id").asLong(-1);
                    String op = req.path("op").asText("");
                    if (op.equals("quit")) {
                        protocol.println(answer(id, JSON.createObjectNode()));
                        break;
                    }
                    protocol.println(answer(id, handle(admin, op, req)));
                } catch (Throwable t) {
                    protocol.println(failure(id, t));
                }
            }
        }
    }

    private static JsonNode handle(Admin admin, String op, JsonNode req) throws Exception {
        int timeoutMs = req.path("timeout_ms").asInt(DEFAULT_TIMEOUT_MS);
        switch (op) {
            case "ping":
                return JSON.createObjectNode();
            case "describe_cluster":
                return describeCluster(admin, timeoutMs);
            case "create_topic":
                return createTopic(admin, req, timeoutMs);
            case "delete_topic":
                admin.deleteTopics(
                                List.of(req.path("name").asText()),
                                new DeleteTopicsOptions().timeoutMs(timeoutMs))
                        .all()
                        .get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
                return JSON.createObjectNode();
            case "list_topics":
                return listTopics(admin, timeoutMs);
            case "describe_topic":
                return describeTopic(admin, req.path("name").asText(), timeoutMs);
            default:
                throw new IllegalArgumentException("unknown op: " + op);
        }
    }

    private static JsonNode describeCluster(Admin admin, int timeoutMs) throws Exception {
        DescribeClusterResult result =
                admin.describeCluster(new DescribeClusterOptions().timeoutMs(timeoutMs));
        long wait = timeoutMs + 1000L;
        Collection<Node> nodes = result.nodes().get(wait, TimeUnit.MILLISECONDS);
        Node controller = result.controller().get(wait, TimeUnit.MILLISECONDS);
        String clusterId = result.clusterId().get(wait, TimeUnit.MILLISECONDS);
        ObjectNode out = JSON.createObjectNode();
        out.put("cluster_id", clusterId);
        if (controller == null || controller.isEmpty()) {
            out.putNull("controller");
        } else {
            out.put("controller", controller.id());
        }
        TreeSet<Integer> ids = new TreeSet<>();
        ArrayNode nodeArray = out.putArray("nodes");
        for (Node n : nodes) {
            ids.add(n.id());
            ObjectNode node = nodeArray.addObject();
            node.put("id", n.id());
            node.put("host", n.host());
            node.put("port", n.port());
        }
        ArrayNode idArray = out.putArray("node_ids");
        for (Integer id : ids) {
            idArray.add(id);
        }
        return out;
    }

    private static JsonNode createTopic(Admin admin, JsonNode req, int timeoutMs)
            throws Exception {
        String name = req.path("name").asText();
        int partitions = req.path("partitions").asInt(1);
        short rf = (short) req.path("replication_factor").asInt(1);
        Map<String, String> configs = new HashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = req.path("configs").fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> e = fields.next();
            configs.put(e.getKey(), e.getValue().asText());
        }
        NewTopic topic = new NewTopic(name, partitions, rf).configs(configs);
        admin.createTopics(List.of(topic), new CreateTopicsOptions().timeoutMs(timeoutMs))
                .all()
                .get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        return JSON.createObjectNode();
    }

    private static JsonNode listTopics(Admin admin, int timeoutMs) throws Exception {
        TreeSet<String> names =
                new TreeSet<>(
                        admin.listTopics(new ListTopicsOptions().timeoutMs(timeoutMs))
                                .names()
                                .get(timeoutMs + 1000L, TimeUnit.MILLISECONDS));
        ObjectNode out = JSON.createObjectNode();
        ArrayNode arr = out.putArray("topics");
        for (String n : names) {
            arr.add(n);
        }
        return out;
    }

    private static JsonNode describeTopic(Admin admin, String name, int timeoutMs)
            throws Exception {
        Map<String, TopicDescription> all =
                admin.describeTopics(List.of(name), new DescribeTopicsOptions().timeoutMs(timeoutMs))
                        .allTopicNames()
                        .get(timeoutMs + 1000L, TimeUnit.MILLISECONDS);
        TopicDescription desc = all.get(name);
        ObjectNode out = JSON.createObjectNode();
        out.put("name", desc.name());
        out.put("internal", desc.isInternal());
        out.put("topic_id", desc.topicId() == null ? null : desc.topicId().toString());
        ArrayNode parts = out.putArray("partitions");
        List<TopicPartitionInfo> infos = new ArrayList<>(desc.partitions());
        for (TopicPartitionInfo p : infos) {
            ObjectNode po = parts.addObject();
            po.put("partition", p.partition());
            if (p.leader() == null || p.leader().isEmpty()) {
                po.putNull("leader");
            } else {
                po.put("leader", p.leader().id());
            }
            ArrayNode replicas = po.putArray("replicas");
            for (Node r : p.replicas()) {
                replicas.add(r.id());
            }
            ArrayNode isr = po.putArray("isr");
            for (Node r : p.isr()) {
                isr.add(r.id());
            }
        }
        return out;
    }

    private static String answer(long id, JsonNode result) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        out.put("id", id);
        out.put("ok", true);
        out.set("result", result);
        return JSON.writeValueAsString(out);
    }

    private static String failure(long id, Throwable t) {
        Throwable cause = t;
        while ((cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        ObjectNode out = JSON.createObjectNode();
        out.put("id", id);
        out.put("ok", false);
        out.put("error_class", cause.getClass().getName());
        out.put("error", String.valueOf(cause.getMessage()));
        try {
            return JSON.writeValueAsString(out);
        } catch (Exception e) {
            return "{\"id\":" + id + ",\"ok\":false,\"error\":\"unserialisable error\"}";
        }
    }
}
