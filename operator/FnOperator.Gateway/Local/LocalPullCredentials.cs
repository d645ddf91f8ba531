using System.Security.Cryptography;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Local mode's pull credentials: a random cluster key per run, and per function a file (mode 0600, in a private temp
/// directory removed at the end) holding its credential, named to the shims by <see cref="PullProtocol.CredentialFileEnv"/>.
/// </summary>
public sealed class LocalPullCredentials(byte[] clusterKey) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fnop-pull-");

    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    /// <summary>The shim environment plus the credential file of the function's <paramref name="version"/> ($LATEST or a published number).</summary>
    public IReadOnlyDictionary<string, string> Add(
        IReadOnlyDictionary<string, string> environment, string ns, string name, string version = Functions.FunctionRegistry.Latest)
    {
        var file = version == Functions.FunctionRegistry.Latest ? $"{ns}.{name}.credential" : $"{ns}.{name}.v{version}.credential";
        var path = Path.Combine(_dir.FullName, file);
        File.WriteAllText(path, PullProtocol.Credential(clusterKey, ns, name, version));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return new Dictionary<string, string>(environment, StringComparer.Ordinal) { [PullProtocol.CredentialFileEnv] = path };
    }

    public void Dispose()
    {
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
    }
}
