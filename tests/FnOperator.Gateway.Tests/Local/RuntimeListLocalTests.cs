using FnOperator.Contracts;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode knows every runtime of the shared list: it serves it, or lists it as not served with the reason.</summary>
public sealed class RuntimeListLocalTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    public static TheoryData<string> Ids => [.. LambdaRuntimes.Ids];

    private static string Handler(string runtime) => LambdaRuntimes.FamilyOf(runtime) switch
    {
        RuntimeFamily.Provided => "unused",
        RuntimeFamily.DotNet => "HelloDotnet",
        _ => "index.handler",
    };

    private ManifestSet LoadOne(string runtime)
    {
        dir.Folder("code");
        return Load(runtime, Handler(runtime));
    }

    private ManifestSet Load(string runtime, string handler)
    {
        dir.Write("fn.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: f
            spec:
              runtime: {runtime}
              handler: "{handler}"
              code:
                path: code
            """);
        return ManifestLoader.Load(dir.Root);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void A_manifest_with_each_runtime_is_served_or_listed_as_not_served_with_a_reason(string runtime)
    {
        var set = LoadOne(runtime);

        Assert.Empty(set.Problems);
        var served = set.Functions.Count == 1;
        var skipped = set.Skipped.SingleOrDefault(s => s.Name == "f");
        Assert.True(served != (skipped is not null), $"{runtime}: served={served}, skipped={skipped}");
        if (skipped is not null)
        {
            Assert.False(string.IsNullOrWhiteSpace(skipped.Reason));
            Assert.DoesNotContain("unknown runtime", skipped.Reason, StringComparison.OrdinalIgnoreCase);
        }

        var table = StartupTable.Render(set, set.Functions.ToDictionary(f => f, f => FunctionPool.LimitsFor(f.Function.Spec)), "http://127.0.0.1:9000", "fns");
        if (served)
        {
            Assert.Matches($@"(?m)^f\s+{System.Text.RegularExpressions.Regex.Escape(runtime)}\s", table);
        }
        else
        {
            Assert.Contains("Not served in local mode:", table, StringComparison.Ordinal);
            Assert.Contains($"Function f: {skipped!.Reason}", table, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("java17")]
    [InlineData("java21")]
    [InlineData("ruby3.3")]
    public void Runtimes_without_a_local_launcher_are_not_served_and_say_where_they_run(string runtime)
    {
        var skipped = Assert.Single(LoadOne(runtime).Skipped);

        Assert.Contains("no local runtime", skipped.Reason, StringComparison.Ordinal);
        Assert.Contains(LambdaRuntimes.Find(runtime)!.Image, skipped.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dotnet8")]
    [InlineData("dotnet10")]
    public void Dotnet_without_published_code_says_how_to_publish(string runtime)
    {
        var skipped = Assert.Single(LoadOne(runtime).Skipped);

        Assert.Contains("needs prebuilt code", skipped.Reason, StringComparison.Ordinal);
        Assert.Contains("HelloDotnet.dll", skipped.Reason, StringComparison.Ordinal);
        // No .csproj beside the code folder here, so the hint names the step with a placeholder for the project.
        Assert.Contains("dotnet publish <your .csproj> -c Release -o", skipped.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dotnet8", "HelloDotnet")]
    [InlineData("dotnet10", "MyLib::MyLib.Function::Handle")]
    public void Dotnet_with_published_code_is_served_by_the_shims_launcher(string runtime, string handler)
    {
        dir.Write($"code/{LambdaRuntimes.DotNetAssembly(handler)}.dll", "");

        var fn = Assert.Single(Load(runtime, handler).Functions);
        var env = ShimEnvironment.For(fn, "http://127.0.0.1:9000", "us-east-1");

        Assert.Equal(runtime, env[ShimVariables.Runtime]);
        Assert.False(env.ContainsKey(ShimVariables.RuntimeCommand));
    }

    [Fact]
    public void Provided_with_a_bootstrap_is_served()
    {
        dir.Write("code/bootstrap", "#!/bin/sh\n");

        Assert.Single(LoadOne("provided.al2023").Functions);
    }
}
