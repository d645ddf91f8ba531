namespace FnOperator.Gateway.Auth;

/// <summary>
/// Local mode's keys: an AWS shared credentials file (<c>[profile]</c> sections with <c>aws_access_key_id</c> and
/// <c>aws_secret_access_key</c>); the profile name becomes the user name. Read once at start.
/// </summary>
public sealed class CredentialsFileKeyStore : IAccessKeyStore
{
    private readonly Dictionary<string, AccessKey> keys = new(StringComparer.Ordinal);

    public CredentialsFileKeyStore(string path)
    {
        string? profile = null, id = null, secret = null;
        void Flush()
        {
            if (profile is not null && id is not null && secret is not null)
            {
                keys[id] = new AccessKey(id, secret, profile, ["system:authenticated"]);
            }

            id = secret = null;
        }

        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                Flush();
                profile = line[1..^1].Trim();
                continue;
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                continue;
            }

            var value = line[(eq + 1)..].Trim();
            switch (line[..eq].Trim().ToLowerInvariant())
            {
                case "aws_access_key_id":
                    id = value;
                    break;
                case "aws_secret_access_key":
                    secret = value;
                    break;
            }
        }

        Flush();
        if (keys.Count == 0)
        {
            throw new InvalidDataException($"{path}: no [profile] with aws_access_key_id and aws_secret_access_key");
        }
    }

    public int Count => keys.Count;

    public ValueTask<AccessKey?> FindAsync(string accessKeyId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(keys.GetValueOrDefault(accessKeyId));
}
