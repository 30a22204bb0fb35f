package org.idempotency.redis.internal;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisCluster;
import org.redisson.api.redisnode.RedisMasterSlave;
import org.redisson.api.redisnode.RedisNode;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.config.Config;

/**
 * Reads {@code maxmemory-policy} from every Redis node a Redisson client knows: the masters and replicas of a
 * cluster, of a Sentinel-managed group, or of a single server or a master with replicas. Stateless and
 * thread-safe.
 */
public final class EvictionPolicies {

    /** The only policy under which Redis never evicts a key that has an expiry. */
    public static final String SAFE = "noeviction";
    private static final String PARAMETER = "maxmemory-policy";

    /**
     * What one node said.
     *
     * @param node the node's address, as Redisson knows it
     * @param policy its {@code maxmemory-policy}, or {@code null} when it could not be read
     * @param problem why it could not be read, or {@code null}
     */
    public record NodePolicy(String node, @Nullable String policy, @Nullable String problem) {

        /**
         * Whether the node may evict records: its policy was read and is not {@value EvictionPolicies#SAFE}.
         *
         * @return whether the node's policy evicts keys that have an expiry
         */
        public boolean evicts() {
            return policy != null && !policy.equals(SAFE);
        }
    }

    private EvictionPolicies() {
    }

    /**
     * Asks every node the client knows for its eviction policy, one after the other.
     *
     * @param client the store's client
     * @return one entry per node; a node that could not be asked has a problem instead of a policy
     */
    public static List<NodePolicy> read(RedissonClient client) {
        List<RedisNode> nodes = new ArrayList<>();
        try {
            Config config = client.getConfig();
            if (config.isClusterConfig()) {
                RedisCluster cluster = client.getRedisNodes(RedisNodes.CLUSTER);
                nodes.addAll(cluster.getMasters());
                nodes.addAll(cluster.getSlaves());
            } else {
                RedisMasterSlave group = config.isSentinelConfig()
                        ? client.getRedisNodes(RedisNodes.SENTINEL_MASTER_SLAVE)
                        : client.getRedisNodes(RedisNodes.MASTER_SLAVE);
                nodes.add(group.getMaster());
                nodes.addAll(group.getSlaves());
            }
        } catch (RuntimeException e) {
            return List.of(new NodePolicy("(the client's nodes)", null, "the nodes could not be listed: " + e));
        }
        List<NodePolicy> policies = new ArrayList<>(nodes.size());
        for (RedisNode node : nodes) {
            InetSocketAddress socket = node.getAddr();
            String address = socket.getHostString() + ":" + socket.getPort();
            try {
                Map<String, String> reply = node.getConfig(PARAMETER);
                String policy = reply.get(PARAMETER);
                policies.add(policy == null
                        ? new NodePolicy(address, null, "CONFIG GET " + PARAMETER + " returned no value")
                        : new NodePolicy(address, policy, null));
            } catch (RuntimeException e) {
                policies.add(new NodePolicy(address, null, "CONFIG GET " + PARAMETER + " failed: " + e.getMessage()));
            }
        }
        return List.copyOf(policies);
    }
}
