using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer.Tests;

/// <summary>Test fixtures: the Widget CRD (Fixtures/widgets.yaml) and Widget objects.</summary>
public static class Fixtures
{
    public static string CrdDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static CrdSchemaValidator Validator { get; } = CrdSchemaValidator.LoadDirectory(CrdDirectory);

    /// <summary>A valid Widget whose spec is <c>{"size": 256}</c> merged with <paramref name="specJson"/>.</summary>
    public static JsonObject Widget(string name = "w", string specJson = "{}")
    {
        var spec = JsonNode.Parse(specJson)!.AsObject();
        if (!spec.ContainsKey("size"))
        {
            spec["size"] = 256;
        }

        return new JsonObject
        {
            ["apiVersion"] = "test.fnoperator.io/v1",
            ["kind"] = "Widget",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
            ["spec"] = spec,
        };
    }

    /// <summary>Walks up from the test binaries to the folder holding FnOperator.sln.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("FnOperator.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
