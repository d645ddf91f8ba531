using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace FnOperator.KubeApiServer;

/// <summary>
/// Plays the Deployment controller and kubelet: after a Deployment's spec (generation) or replicas change, its status
/// reports observedGeneration, all replicas updated, ready and available, and Available/Progressing conditions.
/// Switched off, Deployments stay as they are until it is switched on again.
/// </summary>
public sealed class DeploymentSimulator(ObjectStore store, ObjectWriter writer, ResourceType deployments, TimeProvider time)
{
    private readonly Channel<(string Ns, string Name)> pending = Channel.CreateUnbounded<(string, string)>();
    private volatile bool enabled = true;

    public bool Enabled
    {
        get => enabled;
        set
        {
            enabled = value;
            if (value)
            {
                foreach (var d in store.List(deployments.StorageKey, null).Items)
                {
                    pending.Writer.TryWrite(((string)d["metadata"]!["namespace"]!, (string)d["metadata"]!["name"]!));
                }
            }
        }
    }

    public void OnChanged(StoredEvent e)
    {
        if (e.Resource == deployments.StorageKey && e.Type != "DELETED" && NeedsRollout(e.Object))
        {
            pending.Writer.TryWrite(((string)e.Object["metadata"]!["namespace"]!, (string)e.Object["metadata"]!["name"]!));
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (ns, name) in pending.Reader.ReadAllAsync(cancellationToken))
            {
                if (!enabled)
                {
                    continue; // picked up again when re-enabled
                }

                try
                {
                    writer.Update(deployments, ns, name, "status", RolledOut, new WriteOptions(InjectFaults: false));
                }
                catch (ApiException)
                {
                    // deleted meanwhile
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static bool NeedsRollout(JsonObject d) =>
        !MetadataRules.IsDeleting(d) &&
        (Number(d["status"]?["observedGeneration"]) != Number(d["metadata"]?["generation"]) || (Number(d["status"]?["readyReplicas"]) ?? 0) != Replicas(d));

    private static long Replicas(JsonObject d) => Number(d["spec"]?["replicas"]) ?? 1;

    private static long? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : null;

    private JsonObject RolledOut(JsonObject d)
    {
        var replicas = Replicas(d);
        var now = MetadataRules.Timestamp(time.GetUtcNow());
        var name = (string?)d["metadata"]?["name"];
        var status = new JsonObject { ["observedGeneration"] = Number(d["metadata"]?["generation"]) ?? 1 };
        if (replicas > 0)
        {
            // as the real controller does, zero counts are omitted
            status["replicas"] = replicas;
            status["updatedReplicas"] = replicas;
            status["readyReplicas"] = replicas;
            status["availableReplicas"] = replicas;
        }

        status["conditions"] = new JsonArray(
            Condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability.", now),
            Condition("Progressing", "NewReplicaSetAvailable", $"ReplicaSet \"{name}-{Hash(d)}\" has successfully progressed.", now));
        d["status"] = status;
        return d;
    }

    private static JsonObject Condition(string type, string reason, string message, string now) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["lastUpdateTime"] = now,
        ["lastTransitionTime"] = now,
        ["reason"] = reason,
        ["message"] = message,
    };

    private static string Hash(JsonObject d) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(d["spec"]?["template"]?.ToJsonString() ?? "")))[..10].ToLowerInvariant();
}
