using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.Api.Tests;

/// <summary>
/// Manifests checked against the generated CRDs by the API test server's validator (OpenAPI schema + CEL rules, with
/// the apiserver's wording): every example and every Valid/ case is accepted, every Malformed/ case is rejected with
/// an error naming the field. A malformed file states what it expects in `# expect: &lt;fragment&gt;` lines; one
/// error must contain all of them.
/// </summary>
public sealed class ManifestValidationTests
{
    private static readonly CrdSchemaValidator Validator = CrdSchemaValidator.LoadDirectory(RepoPaths.Crds);

    public static TheoryData<string> ExampleFiles() => new(FileList(RepoPaths.Examples));

    public static TheoryData<string> ValidFiles() => new(FileList(Path.Combine(RepoPaths.Root, "tests", "FnOperator.Api.Tests", "Valid")));

    public static TheoryData<string> MalformedFiles() => new(FileList(RepoPaths.Malformed));

    [Theory]
    [MemberData(nameof(ExampleFiles))]
    public void Example_manifests_validate(string file) => AssertValid(file);

    [Theory]
    [MemberData(nameof(ValidFiles))]
    public void Edge_case_manifests_validate(string file) => AssertValid(file);

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void Malformed_manifest_is_rejected_with_a_message_naming_the_field(string file)
    {
        var path = Path.Combine(RepoPaths.Root, file);
        var expected = File.ReadLines(path).Where(l => l.StartsWith("# expect: ", StringComparison.Ordinal)).Select(l => l["# expect: ".Length..]).ToList();
        Assert.True(expected.Count > 0, $"{file} has no '# expect: ' line");
        var documents = Documents(path);
        var document = Assert.Single(documents);
        var errors = Validator.Validate(document!);
        Assert.True(errors.Any(e => expected.All(x => e.Contains(x, StringComparison.Ordinal))),
            $"{file}: expected one error containing [{string.Join("] and [", expected)}]; got:\n  {string.Join("\n  ", errors)}");
    }

    [Fact]
    public void Examples_cover_every_kind()
    {
        var kinds = FileList(RepoPaths.Examples).SelectMany(f => Documents(Path.Combine(RepoPaths.Root, f)))
            .Select(d => (string?)d?["kind"]).ToHashSet();
        Assert.Superset(new HashSet<string?> { "Function", "Layer", "Alias", "EventSourceMapping" }, kinds);
    }

    [Fact]
    public void Malformed_cases_cover_every_kind()
    {
        var kinds = FileList(RepoPaths.Malformed).SelectMany(f => Documents(Path.Combine(RepoPaths.Root, f)))
            .Select(d => (string?)d?["kind"]).ToHashSet();
        Assert.Equal(new HashSet<string?> { "Function", "Layer", "Alias", "EventSourceMapping" }, kinds);
    }

    [Fact]
    public void Chart_copy_validates_the_same_way()
    {
        var chart = CrdSchemaValidator.LoadDirectory(RepoPaths.ChartCrds);
        Assert.Equal(4, chart.Crds.Count);
        var memory64 = Documents(Path.Combine(RepoPaths.Malformed, "function-memory-64.yaml")).Single()!;
        Assert.Contains(chart.Validate(memory64), e => e.Contains("spec.memoryMiB", StringComparison.Ordinal));
    }

    private static void AssertValid(string file)
    {
        var documents = Documents(Path.Combine(RepoPaths.Root, file));
        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            var name = (string?)document?["metadata"]?["name"];
            var errors = Validator.Validate(document!);
            Assert.True(errors.Count == 0, $"{file}: {(string?)document?["kind"]} {name} is rejected:\n  {string.Join("\n  ", errors)}");
        }
    }

    /// <summary>The fnoperator.io documents of a file (other kinds, such as ConfigMaps, are not ours to check).</summary>
    private static List<JsonNode?> Documents(string path) =>
        [.. YamlJson.ParseDocuments(File.ReadAllText(path))
            .Where(d => ((string?)d?["apiVersion"])?.StartsWith("fnoperator.io/", StringComparison.Ordinal) == true)];

    private static List<string> FileList(string dir)
    {
        var data = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.*", SearchOption.AllDirectories)
                     .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                         && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                         && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                     .Where(f => File.ReadAllText(f).Contains("fnoperator.io/", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepoPaths.Root, file));
        }

        return data;
    }
}
