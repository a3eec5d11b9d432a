// Prints golden protocol vectors written by Apache Kafka's own Java client classes
// (kafka-clients 4.1.2), for rust/kaffe-core/tests/protocol_golden.rs.
//
// Every vector is a whole frame without the 4-byte size prefix: the header, serialized with
// RequestHeaderData/ResponseHeaderData at the header version ApiKeys says the API uses, then the
// body, serialized with the generated *Data class. Run (from the repository root):
//
//   java -cp "$HOME/.cache/kaffe/kafka/4.1.2/lib/*" \
//       tools/codegen/java/ProtocolGoldenVectors.java
//
// The values set below are repeated by hand in the Rust test's assertions.

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.*;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.protocol.types.RawTaggedField;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;

public class ProtocolGoldenVectors {
    static byte[] bytes(ApiMessage m, short version) {
        ByteBuffer b = MessageUtil.toByteBufferAccessor(m, version).buffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    static String hex(byte[] a, byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : a) sb.append(String.format("%02x", x));
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static void request(String label, ApiMessage body, short version, int corr, String clientId) {
        ApiKeys key = ApiKeys.forId(body.apiKey());
        short hv = key.requestHeaderVersion(version);
        RequestHeaderData h = new RequestHeaderData()
            .setRequestApiKey(body.apiKey()).setRequestApiVersion(version)
            .setCorrelationId(corr).setClientId(clientId);
        System.out.println(label + " header_v" + hv + " " + hex(bytes(h, hv), bytes(body, version)));
    }

    static void response(String label, ApiMessage body, short version, int corr) {
        ApiKeys key = ApiKeys.forId(body.apiKey());
        short hv = key.responseHeaderVersion(version);
        ResponseHeaderData h = new ResponseHeaderData().setCorrelationId(corr);
        System.out.println(label + " header_v" + hv + " " + hex(bytes(h, hv), bytes(body, version)));
    }

    public static void main(String[] args) {
        // ApiVersions
        request("api_versions_v0_request", new ApiVersionsRequestData(), (short) 0, 1, "kaffe");
        ApiVersionsRequestData avr = new ApiVersionsRequestData()
            .setClientSoftwareName("kaffe").setClientSoftwareVersion("0.1.0");
        avr.unknownTaggedFields().add(new RawTaggedField(99, new byte[] {1, 2, 3}));
        request("api_versions_v3_request", avr, (short) 3, 2, "kaffe-client");

        ApiVersionsResponseData.ApiVersionCollection keys = new ApiVersionsResponseData.ApiVersionCollection();
        keys.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 0).setMinVersion((short) 3).setMaxVersion((short) 13));
        keys.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 18).setMinVersion((short) 0).setMaxVersion((short) 4));
        ApiVersionsResponseData.SupportedFeatureKeyCollection sf = new ApiVersionsResponseData.SupportedFeatureKeyCollection();
        sf.add(new ApiVersionsResponseData.SupportedFeatureKey().setName("metadata.version").setMinVersion((short) 1).setMaxVersion((short) 27));
        ApiVersionsResponseData.FinalizedFeatureKeyCollection ff = new ApiVersionsResponseData.FinalizedFeatureKeyCollection();
        ff.add(new ApiVersionsResponseData.FinalizedFeatureKey().setName("metadata.version").setMinVersionLevel((short) 27).setMaxVersionLevel((short) 27));
        ApiVersionsResponseData avresp = new ApiVersionsResponseData()
            .setErrorCode((short) 0).setApiKeys(keys).setThrottleTimeMs(0)
            .setSupportedFeatures(sf).setFinalizedFeaturesEpoch(42L).setFinalizedFeatures(ff);
        response("api_versions_v3_response", avresp, (short) 3, 2);
        ApiVersionsResponseData.ApiVersionCollection keys0 = new ApiVersionsResponseData.ApiVersionCollection();
        keys0.add(new ApiVersionsResponseData.ApiVersion().setApiKey((short) 3).setMinVersion((short) 0).setMaxVersion((short) 13));
        response("api_versions_v0_response_unsupported", new ApiVersionsResponseData().setErrorCode((short) 35).setApiKeys(keys0), (short) 0, 1);

        // Metadata
        MetadataRequestData md1 = new MetadataRequestData().setTopics(Arrays.asList(
            new MetadataRequestData.MetadataRequestTopic().setName("a"),
            new MetadataRequestData.MetadataRequestTopic().setName("bb")));
        request("metadata_v1_request", md1, (short) 1, 7, null);
        Uuid tid = new Uuid(0x0123456789abcdefL, 0xfedcba9876543210L);
        MetadataRequestData md12 = new MetadataRequestData().setTopics(Arrays.asList(
            new MetadataRequestData.MetadataRequestTopic().setTopicId(tid).setName(null)))
            .setAllowAutoTopicCreation(false).setIncludeTopicAuthorizedOperations(true);
        request("metadata_v12_request", md12, (short) 12, 8, "kaffe");

        MetadataResponseData.MetadataResponseBrokerCollection brokers = new MetadataResponseData.MetadataResponseBrokerCollection();
        brokers.add(new MetadataResponseData.MetadataResponseBroker().setNodeId(1).setHost("127.0.0.1").setPort(9092).setRack(null));
        MetadataResponseData.MetadataResponseTopicCollection topics = new MetadataResponseData.MetadataResponseTopicCollection();
        topics.add(new MetadataResponseData.MetadataResponseTopic().setErrorCode((short) 0).setName("t").setTopicId(tid)
            .setIsInternal(false).setTopicAuthorizedOperations(-2147483648)
            .setPartitions(Arrays.asList(new MetadataResponseData.MetadataResponsePartition()
                .setErrorCode((short) 0).setPartitionIndex(0).setLeaderId(1).setLeaderEpoch(5)
                .setReplicaNodes(Arrays.asList(1)).setIsrNodes(Arrays.asList(1)).setOfflineReplicas(new ArrayList<>()))));
        MetadataResponseData mresp = new MetadataResponseData().setThrottleTimeMs(0).setBrokers(brokers)
            .setClusterId("kaffe-cluster").setControllerId(1).setTopics(topics);
        response("metadata_v12_response", mresp, (short) 12, 8);

        // Produce with a real record batch written by Kafka.
        MemoryRecords recs = MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(1700000000000L, "k".getBytes(), "v".getBytes()));
        ProduceRequestData.TopicProduceDataCollection tpd = new ProduceRequestData.TopicProduceDataCollection();
        tpd.add(new ProduceRequestData.TopicProduceData().setName("t").setPartitionData(Arrays.asList(
            new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(recs))));
        ProduceRequestData prod = new ProduceRequestData().setTransactionalId(null).setAcks((short) -1).setTimeoutMs(30000).setTopicData(tpd);
        request("produce_v9_request", prod, (short) 9, 11, "kaffe");
        request("produce_v3_request", prod, (short) 3, 12, "kaffe");

        // Fetch response v12 with tagged fields inside partitions.
        FetchResponseData.PartitionData pd = new FetchResponseData.PartitionData()
            .setPartitionIndex(0).setErrorCode((short) 0).setHighWatermark(10).setLastStableOffset(10)
            .setLogStartOffset(0).setPreferredReadReplica(-1).setRecords(recs)
            .setDivergingEpoch(new FetchResponseData.EpochEndOffset().setEpoch(3).setEndOffset(7))
            .setCurrentLeader(new FetchResponseData.LeaderIdAndEpoch().setLeaderId(1).setLeaderEpoch(4));
        FetchResponseData fetch = new FetchResponseData().setThrottleTimeMs(0).setErrorCode((short) 0).setSessionId(0)
            .setResponses(Arrays.asList(new FetchResponseData.FetchableTopicResponse().setTopic("t").setPartitions(Arrays.asList(pd))));
        response("fetch_v12_response", fetch, (short) 12, 13);

        // JoinGroup v9 request, SyncGroup v5 response.
        JoinGroupRequestData.JoinGroupRequestProtocolCollection protos = new JoinGroupRequestData.JoinGroupRequestProtocolCollection();
        protos.add(new JoinGroupRequestData.JoinGroupRequestProtocol().setName("range").setMetadata(new byte[] {0, 3, 0, 0, 0, 0}));
        JoinGroupRequestData join = new JoinGroupRequestData().setGroupId("g").setSessionTimeoutMs(45000)
            .setRebalanceTimeoutMs(300000).setMemberId("").setGroupInstanceId(null).setProtocolType("consumer")
            .setProtocols(protos).setReason("joining");
        request("join_group_v9_request", join, (short) 9, 21, "kaffe");
        SyncGroupResponseData sync = new SyncGroupResponseData().setThrottleTimeMs(0).setErrorCode((short) 0)
            .setProtocolType("consumer").setProtocolName("range").setAssignment(new byte[] {0, 3, 9});
        response("sync_group_v5_response", sync, (short) 5, 22);

        // CreateTopics v5 response: TopicConfigErrorCode is a tagged field (tag 0).
        CreateTopicsResponseData.CreatableTopicResultCollection ctr = new CreateTopicsResponseData.CreatableTopicResultCollection();
        ctr.add(new CreateTopicsResponseData.CreatableTopicResult().setName("t").setTopicId(tid).setErrorCode((short) 36)
            .setErrorMessage("Topic 't' already exists.").setTopicConfigErrorCode((short) 29)
            .setNumPartitions(-1).setReplicationFactor((short) -1).setConfigs(null));
        response("create_topics_v5_response", new CreateTopicsResponseData().setThrottleTimeMs(0).setTopics(ctr), (short) 5, 31);

        // SaslHandshake v1, SaslAuthenticate v2.
        request("sasl_handshake_v1_request", new SaslHandshakeRequestData().setMechanism("SCRAM-SHA-256"), (short) 1, 41, "kaffe");
        response("sasl_authenticate_v2_response", new SaslAuthenticateResponseData().setErrorCode((short) 58)
            .setErrorMessage("Authentication failed").setAuthBytes(new byte[0]).setSessionLifetimeMs(0), (short) 2, 42);
    }
}
