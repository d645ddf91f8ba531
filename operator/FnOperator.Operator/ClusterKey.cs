using FnOperator.Contracts;

namespace FnOperator.Operator;

/// <summary>
/// The cluster key the pull credentials derive from (<see cref="PullProtocol.Credential"/>), read once at start from
/// <see cref="OperatorOptions.ClusterKeyFile"/> (the chart mounts the gateway's cluster-key Secret there). Read the way
/// the gateway reads it (trailing newlines dropped), so both derive the same credentials.
/// </summary>
public sealed class ClusterKey(byte[] bytes)
{
    public ReadOnlySpan<byte> Bytes => bytes;

    /// <summary>The key in a file: its bytes without leading or trailing newlines.</summary>
    public static byte[] ReadFile(string path) => File.ReadAllBytes(path).AsSpan().Trim((byte)'\n').ToArray();

    public static ClusterKey FromFile(string path) => new(ReadFile(path));

    /// <summary>Null when the file is a usable key, else the problem (for the options validator's start-up error).</summary>
    public static string? Problem(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return $"Operator:ClusterKeyFile is required: pull credentials derive from the cluster key (Secret key '{PullProtocol.ClusterKeySecretKey}').";
        }

        try
        {
            var length = ReadFile(path).Length;
            return length == 0
                ? $"Operator:ClusterKeyFile '{path}' is empty."
                : length < PullProtocol.MinClusterKeyBytes
                    ? $"Operator:ClusterKeyFile '{path}' holds {length} bytes; the cluster key must be at least {PullProtocol.MinClusterKeyBytes}."
                    : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return $"Operator:ClusterKeyFile '{path}' cannot be read: {e.Message}";
        }
    }
}
