using System.Text.RegularExpressions;

namespace FnOperator.Chart.Tests;

/// <summary>The three Dockerfiles, read statically (no Docker here): multi-stage, non-root, files they copy exist.</summary>
public sealed partial class DockerfileTests
{
    public static TheoryData<string> Dockerfiles() => new(
        "operator/Dockerfile.operator", "operator/Dockerfile.gateway", "runtime-shim/Dockerfile");

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Build_is_multi_stage_from_the_dotnet_sdk_onto_a_small_runtime_image(string dockerfile)
    {
        var froms = Lines(dockerfile).Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.True(froms.Count >= 2, "expected a build stage and a final stage");
        Assert.Contains("mcr.microsoft.com/dotnet/sdk:10.0", froms[0]);
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/(aspnet|runtime-deps):10\.0(-noble-chiseled)?$", froms[^1]);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Final_stage_runs_as_a_numeric_non_root_user_with_an_exec_form_entrypoint(string dockerfile)
    {
        var lines = Lines(dockerfile);
        var final = lines.Skip(lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal))).ToList();
        var user = final.Last(l => l.StartsWith("USER ", StringComparison.Ordinal));
        var match = NumericUser().Match(user);
        Assert.True(match.Success, $"USER must be numeric uid[:gid]: {user}");
        Assert.NotEqual(0, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.StartsWith("ENTRYPOINT [", final.Single(l => l.StartsWith("ENTRYPOINT", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_copied_source_and_published_project_exists_and_is_not_docker_ignored(string dockerfile)
    {
        var ignored = File.ReadAllLines(Repo.At(".dockerignore"))
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith("**", StringComparison.Ordinal)).ToList();
        foreach (var line in Lines(dockerfile).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[1..^1])
            {
                var path = Repo.At(source.TrimEnd('/').Split('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{dockerfile}: COPY source {source} does not exist");
                Assert.DoesNotContain(ignored, pattern => source.TrimEnd('/') == pattern || source.StartsWith(pattern + "/", StringComparison.Ordinal));
            }
        }

        foreach (Match project in ProjectPath().Matches(File.ReadAllText(Repo.At(dockerfile.Split('/')))))
        {
            Assert.True(File.Exists(Repo.At(project.Value.Split('/'))), $"{dockerfile}: {project.Value} does not exist");
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_project_the_published_project_references_is_copied_before_restore_and_with_its_sources(string dockerfile)
    {
        var lines = Lines(dockerfile);
        var published = lines.Where(l => l.Contains("dotnet publish ", StringComparison.Ordinal))
            .Select(l => ProjectPath().Match(l).Value).Single(v => v.Length > 0);
        var restoreAt = lines.FindIndex(l => l.Contains("dotnet restore ", StringComparison.Ordinal));
        var copies = lines.Select((l, i) => (Line: l, Index: i))
            .Where(x => x.Line.StartsWith("COPY ", StringComparison.Ordinal) && !x.Line.Contains("--from", StringComparison.Ordinal))
            .ToList();
        foreach (var project in ReferenceClosure(published))
        {
            var folder = project[..(project.LastIndexOf('/') + 1)];
            Assert.True(copies.Any(c => c.Index < restoreAt && c.Line.Contains(project, StringComparison.Ordinal)),
                $"{dockerfile}: {project} (referenced by {published}) is not copied before dotnet restore");
            Assert.True(copies.Any(c => c.Line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]
                    .Any(source => source.EndsWith('/') && folder.StartsWith(source, StringComparison.Ordinal))),
                $"{dockerfile}: the sources of {project} (referenced by {published}) are not copied");
        }
    }

    /// <summary>The project and every project it references, transitively, as repository paths.</summary>
    private static SortedSet<string> ReferenceClosure(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }

            var directory = current[..current.LastIndexOf('/')];
            foreach (Match reference in ProjectReference().Matches(File.ReadAllText(Repo.At(current.Split('/')))))
            {
                var parts = new List<string>(directory.Split('/'));
                foreach (var segment in reference.Groups[1].Value.Replace('\\', '/').Split('/'))
                {
                    if (segment == "..")
                    {
                        parts.RemoveAt(parts.Count - 1);
                    }
                    else if (segment != ".")
                    {
                        parts.Add(segment);
                    }
                }

                pending.Push(string.Join('/', parts));
            }
        }

        return seen;
    }

    [Fact]
    public void Runtime_shim_image_serves_the_operators_install_command()
    {
        var lines = Lines("runtime-shim/Dockerfile");
        Assert.Contains("COPY --from=build /out/ /fnop/", lines);
        Assert.Contains("ENTRYPOINT [\"/fnop/runtime-shim\"]", lines);
        Assert.Contains("mv /out/FnOperator.RuntimeShim /out/runtime-shim", File.ReadAllText(Repo.At("runtime-shim", "Dockerfile")));

        // The operator's default init container command (OperatorOptions.ShimInstallCommand) runs that binary.
        var options = File.ReadAllText(Repo.At("operator", "FnOperator.Operator", "OperatorOptions.cs"));
        Assert.Contains("[\"/fnop/runtime-shim\", \"install\", \"/fnop-bin\"]", options);
    }

    [Fact]
    public void Docker_context_leaves_out_build_output_and_node_modules()
    {
        var ignore = File.ReadAllLines(Repo.At(".dockerignore"));
        Assert.Contains("**/bin", ignore);
        Assert.Contains("**/obj", ignore);
        Assert.Contains("**/node_modules", ignore);
        Assert.Contains(".git", ignore);
    }

    /// <summary>Instruction lines, with backslash continuations joined and comments dropped.</summary>
    private static List<string> Lines(string dockerfile)
    {
        var text = File.ReadAllText(Repo.At(dockerfile.Split('/'))).Replace("\\\n", " ", StringComparison.Ordinal);
        return text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
    }

    [GeneratedRegex(@"^USER (\d+)(:\d+)?$")]
    private static partial Regex NumericUser();

    [GeneratedRegex("<ProjectReference Include=\"([^\"]+)\"")]
    private static partial Regex ProjectReference();

    [GeneratedRegex(@"(operator|runtime-shim)/[A-Za-z.]+/[A-Za-z.]+\.csproj")]
    private static partial Regex ProjectPath();
}
