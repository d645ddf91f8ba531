using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using FnOperator.Api;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FnOperator.Gateway.Local;

/// <summary>A Function read from a manifest, with its code directory resolved against the manifest's folder.</summary>
public sealed record LocalFunction(Function Function, string ManifestFile, string CodeDirectory)
{
    public string Namespace => string.IsNullOrEmpty(Function.Metadata.NamespaceProperty) ? "default" : Function.Metadata.NamespaceProperty;

    public string Name => Function.Metadata.Name;
}

/// <summary>A manifest error: the file, the field path (empty for the whole document) and what is wrong.</summary>
public sealed record ManifestProblem(string File, string Field, string Message)
{
    public override string ToString() => Field.Length == 0 ? $"{File}: {Message}" : $"{File}: {Field}: {Message}";
}

/// <summary>A valid object that local mode does not serve (another kind, or code that needs a cluster).</summary>
public sealed record SkippedResource(string File, string Kind, string Name, string Reason);

public sealed record ManifestSet(
    IReadOnlyList<LocalFunction> Functions,
    IReadOnlyList<ManifestProblem> Problems,
    IReadOnlyList<SkippedResource> Skipped);

/// <summary>
/// Reads the Function YAML users <c>kubectl apply</c>: a file or a folder (recursively; *.yaml, *.yml), each file
/// possibly holding several documents. Every bad document is reported; the good ones are returned.
/// </summary>
public static class ManifestLoader
{
    /// <summary>The reason of a manifest local mode does not serve at all (the start table lists these apart).</summary>
    public const string NotServed = "not served in local mode";

    /// <summary>The reason given for an Alias manifest: local mode routes it (Local/VersionAliasManifests.cs).</summary>
    public const string AliasReason = "routes invocations to the versions it names (see the Alias lines below)";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    public static ManifestSet Load(string path)
    {
        var functions = new List<LocalFunction>();
        var problems = new List<ManifestProblem>();
        var skipped = new List<SkippedResource>();
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            problems.Add(new ManifestProblem(path, "", "no such file or folder"));
            return new ManifestSet(functions, problems, skipped);
        }

        foreach (var file in ManifestFiles(full))
        {
            LoadFile(file, functions, problems, skipped);
        }

        RejectDuplicates(functions, problems);
        return new ManifestSet(functions, problems, skipped);
    }

    private static readonly Dictionary<string, Type> OtherKinds = new(StringComparer.Ordinal)
    {
        [Layer.KindName] = typeof(Layer),
        [Alias.KindName] = typeof(Alias),
        [EventSourceMapping.KindName] = typeof(EventSourceMapping),
    };

    /// <summary>Unknown fields and wrong types of a Layer, Alias or EventSourceMapping document (empty for other kinds).</summary>
    private static List<(string Field, string Message)> ShapeProblems(JsonObject obj, string kind) =>
        OtherKinds.TryGetValue(kind, out var type) ? ManifestShape.Check(obj, type, JsonOptions) : [];

    /// <summary>
    /// True when a Layer, Alias or EventSourceMapping document has an unknown field or a wrong type: its loader skips it,
    /// and <see cref="Load"/> reports why (file, field, message).
    /// </summary>
    public static bool HasShapeProblems(JsonObject obj) =>
        (obj["kind"] as JsonValue)?.ToString() is { } kind && (obj["apiVersion"] as JsonValue)?.ToString() == ApiGroup.ApiVersion
        && ShapeProblems(obj, kind).Count > 0;

    /// <summary>The path as the user would type it: relative to the working folder when under it.</summary>
    public static string DisplayPath(string fullPath)
    {
        var relative = System.IO.Path.GetRelativePath(Environment.CurrentDirectory, fullPath);
        return relative.StartsWith("..", StringComparison.Ordinal) ? fullPath : relative;
    }

    internal static IEnumerable<string> ManifestFiles(string full)
    {
        if (File.Exists(full))
        {
            return [full];
        }

        var files = new List<string>();
        var pending = new Stack<string>([full]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            files.AddRange(Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal)));
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                var name = System.IO.Path.GetFileName(sub);
                if (!name.StartsWith('.') && name is not "node_modules" and not "bin" and not "obj" and not "__pycache__")
                {
                    pending.Push(sub);
                }
            }
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    private static void LoadFile(string file, List<LocalFunction> functions, List<ManifestProblem> problems, List<SkippedResource> skipped)
    {
        var display = DisplayPath(file);
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(file);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            problems.Add(new ManifestProblem(display, "", $"invalid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.InnerException?.Message ?? e.Message}"));
            return;
        }
        catch (IOException e)
        {
            problems.Add(new ManifestProblem(display, "", $"cannot read: {e.Message}"));
            return;
        }

        foreach (var document in stream.Documents)
        {
            var where = stream.Documents.Count > 1 ? $"{display} (document at line {document.RootNode.Start.Line})" : display;
            LoadDocument(file, where, document.RootNode, functions, problems, skipped);
        }
    }

    private static void LoadDocument(
        string file, string where, YamlNode root, List<LocalFunction> functions, List<ManifestProblem> problems, List<SkippedResource> skipped)
    {
        JsonNode? json;
        try
        {
            json = YamlToJson.Convert(root);
        }
        catch (FormatException e)
        {
            problems.Add(new ManifestProblem(where, "", e.Message));
            return;
        }

        if (json is null)
        {
            return; // an empty document, e.g. after a trailing "---"
        }

        if (json is not JsonObject obj)
        {
            problems.Add(new ManifestProblem(where, "", "a manifest must be a mapping with apiVersion, kind, metadata and spec"));
            return;
        }

        var kind = (obj["kind"] as JsonValue)?.ToString();
        var apiVersion = (obj["apiVersion"] as JsonValue)?.ToString();
        var name = (obj["metadata"]?["name"] as JsonValue)?.ToString() ?? "";
        if (string.IsNullOrEmpty(kind) || string.IsNullOrEmpty(apiVersion))
        {
            problems.Add(new ManifestProblem(where, string.IsNullOrEmpty(apiVersion) ? "apiVersion" : "kind", "required"));
            return;
        }

        if (kind != Function.KindName)
        {
            // Layers, Aliases and EventSourceMappings are read by their own loaders, which skip a document with problems
            // (HasShapeProblems); the problems are reported here, once, with the Functions'.
            if (apiVersion == ApiGroup.ApiVersion && ShapeProblems(obj, kind) is { Count: > 0 } other)
            {
                problems.AddRange(other.Select(p => new ManifestProblem(where, p.Field, p.Message)));
                return;
            }

            skipped.Add(new SkippedResource(where, kind, name, kind switch
            {
                EventSourceMapping.KindName => "run by the event source pollers (see the EventSourceMapping lines below)",
                Alias.KindName => AliasReason,
                _ => NotServed,
            }));
            return;
        }

        if (apiVersion != ApiGroup.ApiVersion)
        {
            problems.Add(new ManifestProblem(where, "apiVersion", $"must be {ApiGroup.ApiVersion} (got {apiVersion})"));
            return;
        }

        // Every unknown field and wrong type of the document at once, before the serializer would stop at the first.
        var shape = ManifestShape.Check(obj, typeof(Function), JsonOptions);
        if (shape.Count > 0)
        {
            problems.AddRange(shape.Select(p => new ManifestProblem(where, p.Field, p.Message)));
            return;
        }

        Function function;
        try
        {
            function = obj.Deserialize<Function>(JsonOptions) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            problems.Add(new ManifestProblem(where, FieldOf(e.Path), "wrong type for this field"));
            return;
        }

        var manifestDir = System.IO.Path.GetDirectoryName(file)!;
        var errors = FunctionValidator.Validate(function, manifestDir);
        if (errors.Count > 0)
        {
            problems.AddRange(errors.Select(e => new ManifestProblem(where, e.Field, e.Message)));
            return;
        }

        var reason = LocalSupport.WhyNotServed(function, manifestDir);
        if (reason is not null)
        {
            skipped.Add(new SkippedResource(where, kind, name, reason));
            return;
        }

        var code = System.IO.Path.GetFullPath(System.IO.Path.Combine(manifestDir, function.Spec.Code.Path!));
        functions.Add(new LocalFunction(function, where, code));
    }

    private static void RejectDuplicates(List<LocalFunction> functions, List<ManifestProblem> problems)
    {
        var seen = new Dictionary<(string, string), LocalFunction>();
        foreach (var fn in functions.ToList())
        {
            if (seen.TryGetValue((fn.Namespace, fn.Name), out var first))
            {
                problems.Add(new ManifestProblem(fn.ManifestFile, "metadata.name", $"function {fn.Namespace}/{fn.Name} is already defined in {first.ManifestFile}"));
                functions.Remove(fn);
            }
            else
            {
                seen[(fn.Namespace, fn.Name)] = fn;
            }
        }
    }

    private static string FieldOf(string? jsonPath) =>
        string.IsNullOrEmpty(jsonPath) || jsonPath == "$" ? "" : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath;
}
