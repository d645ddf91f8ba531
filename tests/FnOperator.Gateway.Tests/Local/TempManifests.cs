namespace FnOperator.Gateway.Tests.Local;

/// <summary>A temporary folder of manifests and code for one test; deleted on dispose.</summary>
public sealed class TempManifests : IDisposable
{
    public TempManifests()
    {
        Root = Path.Combine(Path.GetTempPath(), "fnop-local-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string Write(string relativePath, string content)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content.ReplaceLineEndings("\n"));
        return path;
    }

    public string Folder(string relativePath)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// A folder any user may write to: local mode running as root runs each function's runtime as its own uid (the
    /// sandbox), so a handler that records what it ran needs a place outside its own read-only view.
    /// </summary>
    public string SharedWritableFolder(string relativePath)
    {
        var path = Folder(relativePath);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, (UnixFileMode)0x1FF); // rwxrwxrwx
        }

        return path;
    }

    /// <summary>A nodejs function manifest with code folder "src" next to it; <paramref name="extraSpec"/> is appended to spec.</summary>
    public string NodeFunction(string folder, string name, string extraSpec = "", string handlerCode = DefaultNodeHandler)
    {
        Write($"{folder}/src/index.js", handlerCode);
        return Write($"{folder}/function.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {name}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              code:
                path: src
            {Indent(extraSpec)}
            """);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A process may still hold a file; the temp folder is cleaned by the OS eventually.
        }
    }

    public const string DefaultNodeHandler = """
        exports.handler = async (event, context) => {
          if (event && event.fail) { throw new Error("asked to fail: " + event.fail); }
          if (event && event.sleepMs) { await new Promise((r) => setTimeout(r, event.sleepMs)); }
          return { echo: event, requestId: context.awsRequestId, fn: context.functionName };
        };
        """;

    private static string Indent(string spec) =>
        string.Join("\n", spec.ReplaceLineEndings("\n").Split('\n').Select(l => l.Length == 0 ? l : "  " + l));
}
