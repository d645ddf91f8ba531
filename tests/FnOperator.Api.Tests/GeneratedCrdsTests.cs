using FnOperator.CrdGen;

namespace FnOperator.Api.Tests;

/// <summary>The committed CRD YAML is exactly what the generator produces from the model types.</summary>
public sealed class GeneratedCrdsTests
{
    private const string Hint = "The committed CRDs are out of date with the model types in operator/FnOperator.Api: run `make crds` and commit the result.";

    public static TheoryData<string, string> GeneratedFiles()
    {
        var data = new TheoryData<string, string>();
        foreach (var dir in new[] { "crds", "charts/fn-operator/crds" })
        {
            foreach (var name in CrdWriter.RenderAll().Keys)
            {
                data.Add(dir, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(GeneratedFiles))]
    public void Committed_crd_equals_generated(string dir, string fileName)
    {
        var path = Path.Combine(RepoPaths.Root, dir, fileName);
        Assert.True(File.Exists(path), $"{dir}/{fileName} is missing. {Hint}");
        var committed = File.ReadAllText(path).ReplaceLineEndings("\n");
        var generated = CrdWriter.RenderAll()[fileName];
        if (committed != generated)
        {
            var line = FirstDifferentLine(committed, generated);
            Assert.Fail($"{dir}/{fileName} differs from the generated CRD at line {line}. {Hint}");
        }
    }

    [Theory]
    [InlineData("crds")]
    [InlineData("charts/fn-operator/crds")]
    public void Crd_directory_holds_no_stale_generated_files(string dir)
    {
        var expected = CrdWriter.RenderAll().Keys.Order(StringComparer.Ordinal).ToList();
        var present = Directory.GetFiles(Path.Combine(RepoPaths.Root, dir), "*.fnoperator.io.yaml")
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.True(expected.SequenceEqual(present!), $"{dir} holds [{string.Join(", ", present)}], expected [{string.Join(", ", expected)}]. {Hint}");
    }

    [Fact]
    public void Generator_writes_one_file_per_kind_and_removes_stale_ones()
    {
        var dir = Directory.CreateTempSubdirectory("crdgen-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "gone.fnoperator.io.yaml"), "stale");
            File.WriteAllText(Path.Combine(dir, "README.md"), "kept");
            CrdWriter.WriteTo(dir);
            var names = Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(
                ["README.md", "aliases.fnoperator.io.yaml", "eventsourcemappings.fnoperator.io.yaml", "functions.fnoperator.io.yaml", "layers.fnoperator.io.yaml"],
                names);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Generation_is_deterministic()
    {
        var first = CrdWriter.RenderAll();
        var second = CrdWriter.RenderAll();
        Assert.Equal(first, second);
    }

    private static int FirstDifferentLine(string a, string b)
    {
        var left = a.Split('\n');
        var right = b.Split('\n');
        for (var i = 0; i < Math.Min(left.Length, right.Length); i++)
        {
            if (left[i] != right[i])
            {
                return i + 1;
            }
        }

        return Math.Min(left.Length, right.Length) + 1;
    }
}
