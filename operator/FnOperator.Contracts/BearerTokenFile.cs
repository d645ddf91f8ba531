namespace FnOperator.Contracts;

/// <summary>
/// A bearer token read from a file — a projected ServiceAccount token, which the kubelet rewrites before it expires
/// (at 80 % of its lifetime, at least every hour for the default token). The token is re-read when it is older than
/// <see cref="RefreshInterval"/> or when the caller asks (after a 401/403), so a rotated token is picked up without a
/// restart; a read is at most one small file. A missing file means no token (no Authorization header).
/// </summary>
public sealed class BearerTokenFile(string path, TimeProvider time)
{
    /// <summary>How long a read token is used before the file is read again (well inside the kubelet's rotation margin).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(1);

    /// <summary>Where Kubernetes mounts a pod's ServiceAccount token.</summary>
    public const string InClusterPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>A token file larger than this is refused (a token is a few KiB).</summary>
    public const int MaxBytes = 64 * 1024;

    private readonly SemaphoreSlim gate = new(1, 1);
    private string? token;
    private long readAt;
    private bool read;

    public string Path => path;

    /// <returns>The token, or null when the file does not exist.</returns>
    /// <exception cref="IOException">The file exists but cannot be read, or is too large.</exception>
    public async Task<string?> GetAsync(bool refresh, CancellationToken cancellationToken)
    {
        if (!refresh && read && time.GetElapsedTime(readAt) < RefreshInterval)
        {
            return token;
        }

        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!refresh && read && time.GetElapsedTime(readAt) < RefreshInterval)
            {
                return token;
            }

            token = await ReadAsync(cancellationToken).ConfigureAwait(false);
            readAt = time.GetTimestamp();
            read = true;
            return token;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<string?> ReadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        if (new FileInfo(path).Length > MaxBytes)
        {
            throw new IOException($"{path} is larger than {MaxBytes} bytes");
        }

        var text = (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim();
        return text.Length == 0 ? null : text;
    }
}
