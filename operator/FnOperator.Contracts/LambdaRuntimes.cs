namespace FnOperator.Contracts;

/// <summary>The language a runtime id belongs to (by its prefix, as Lambda names them).</summary>
public enum RuntimeFamily
{
    NodeJs,
    Python,
    DotNet,
    Java,
    Ruby,
    Provided,
}

/// <summary>How local mode starts a runtime's code on this machine.</summary>
public enum LocalLaunch
{
    /// <summary>It does not: the runtime lives only in its AWS base image, so the function runs in a cluster.</summary>
    ClusterOnly,

    /// <summary>The shim's built-in launcher with the project's bootstrap; needs the interpreter (<see cref="LambdaRuntime.LocalProgram"/>) on PATH.</summary>
    ShimBootstrap,

    /// <summary>The shim's built-in .NET launcher; needs <c>dotnet</c> on PATH and published code (the handler's <c>&lt;Assembly&gt;.dll</c>) in the code folder.</summary>
    PublishedAssembly,

    /// <summary>The code's own <c>bootstrap</c> executable in the code folder (custom runtimes).</summary>
    CodeBootstrap,
}

/// <summary>One runtime id the project runs, with what it needs: an image in a cluster, a launcher in local mode.</summary>
/// <param name="Id">Lambda's runtime identifier (spec.runtime).</param>
/// <param name="Image">The public AWS Lambda base image that carries the runtime (the operator's default image map).</param>
public sealed record LambdaRuntime(string Id, RuntimeFamily Family, string Image)
{
    public LocalLaunch Local => Family switch
    {
        RuntimeFamily.NodeJs or RuntimeFamily.Python => LocalLaunch.ShimBootstrap,
        RuntimeFamily.DotNet => LocalLaunch.PublishedAssembly,
        RuntimeFamily.Provided => LocalLaunch.CodeBootstrap,
        _ => LocalLaunch.ClusterOnly,
    };

    /// <summary>The program local mode needs on PATH, or null.</summary>
    public string? LocalProgram => LambdaRuntimes.ProgramOf(Family);
}

/// <summary>
/// The runtimes a cluster accepts by default and local mode knows: the one list the operator's image map, local mode's
/// validator and start table, and the CRD description of spec.runtime are made from.
/// </summary>
public static class LambdaRuntimes
{
    private const string Ecr = "public.ecr.aws/lambda/";

    public static IReadOnlyList<LambdaRuntime> All { get; } =
    [
        new("nodejs18.x", RuntimeFamily.NodeJs, Ecr + "nodejs:18"),
        new("nodejs20.x", RuntimeFamily.NodeJs, Ecr + "nodejs:20"),
        new("nodejs22.x", RuntimeFamily.NodeJs, Ecr + "nodejs:22"),
        new("python3.9", RuntimeFamily.Python, Ecr + "python:3.9"),
        new("python3.10", RuntimeFamily.Python, Ecr + "python:3.10"),
        new("python3.11", RuntimeFamily.Python, Ecr + "python:3.11"),
        new("python3.12", RuntimeFamily.Python, Ecr + "python:3.12"),
        new("python3.13", RuntimeFamily.Python, Ecr + "python:3.13"),
        new("dotnet8", RuntimeFamily.DotNet, Ecr + "dotnet:8"),
        new("dotnet10", RuntimeFamily.DotNet, Ecr + "dotnet:10"),
        new("java17", RuntimeFamily.Java, Ecr + "java:17"),
        new("java21", RuntimeFamily.Java, Ecr + "java:21"),
        new("ruby3.3", RuntimeFamily.Ruby, Ecr + "ruby:3.3"),
        new("provided.al2023", RuntimeFamily.Provided, Ecr + "provided:al2023"),
        new("provided.al2", RuntimeFamily.Provided, Ecr + "provided:al2"),
    ];

    public static IReadOnlyList<string> Ids { get; } = [.. All.Select(r => r.Id)];

    /// <summary>Runtime id → base image: the operator's default <c>RuntimeImages</c>.</summary>
    public static IReadOnlyDictionary<string, string> DefaultImages { get; } = All.ToDictionary(r => r.Id, r => r.Image, StringComparer.Ordinal);

    public static LambdaRuntime? Find(string? id) => All.FirstOrDefault(r => string.Equals(r.Id, id, StringComparison.Ordinal));

    /// <summary>The family of any runtime id, listed or not (a configured custom id), by its prefix; null when none fits.</summary>
    public static RuntimeFamily? FamilyOf(string? id) => id switch
    {
        null => null,
        _ when Find(id) is { } known => known.Family,
        _ when id.StartsWith("nodejs", StringComparison.Ordinal) => RuntimeFamily.NodeJs,
        _ when id.StartsWith("python3", StringComparison.Ordinal) => RuntimeFamily.Python,
        _ when id.StartsWith("dotnet", StringComparison.Ordinal) => RuntimeFamily.DotNet,
        _ when id.StartsWith("java", StringComparison.Ordinal) => RuntimeFamily.Java,
        _ when id.StartsWith("ruby", StringComparison.Ordinal) => RuntimeFamily.Ruby,
        _ when id.StartsWith("provided", StringComparison.Ordinal) => RuntimeFamily.Provided,
        _ => null,
    };

    /// <summary>The interpreter a family needs on PATH in local mode, or null.</summary>
    public static string? ProgramOf(RuntimeFamily family) => family switch
    {
        RuntimeFamily.NodeJs => "node",
        RuntimeFamily.Python => "python3",
        RuntimeFamily.DotNet => "dotnet",
        _ => null,
    };

    /// <summary>
    /// The .NET assembly a dotnet handler loads: the part before <c>::</c> of a class-library handler
    /// (<c>Assembly::Type::Method</c>), else the whole handler (an executable assembly).
    /// </summary>
    public static string DotNetAssembly(string handler)
    {
        var separator = handler.IndexOf("::", StringComparison.Ordinal);
        return separator < 0 ? handler : handler[..separator];
    }
}
