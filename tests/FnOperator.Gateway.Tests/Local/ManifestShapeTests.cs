using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Unknown fields and wrong types: all of a document's mistakes at once, in the user's words.</summary>
public sealed class ManifestShapeTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Every_unknown_field_of_a_document_is_reported_at_once_with_a_suggestion_for_near_names()
    {
        dir.Write("fn/src/index.js", TempManifests.DefaultNodeHandler);
        var file = dir.Write("fn/function.yaml", """
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: typos
              lables: {app: x}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              timeout: 5
              memorySize: 256
              Environment: []
              colour: red
              code:
                pth: src
            """);

        var set = ManifestLoader.Load(dir.Root);

        Assert.Empty(set.Functions);
        Assert.Equal(
            [
                "metadata.lables: unknown field 'lables' (did you mean 'labels'?)",
                "spec.timeout: unknown field 'timeout' (did you mean 'timeoutSeconds'?)",
                "spec.memorySize: unknown field 'memorySize' (did you mean 'memoryMiB'?)",
                "spec.Environment: unknown field 'Environment' (did you mean 'environment'?)",
                "spec.colour: unknown field 'colour'",
                "spec.code.pth: unknown field 'pth' (did you mean 'path'?)",
            ],
            set.Problems.Select(p => p.ToString()[(ManifestLoader.DisplayPath(file).Length + 2)..]));
    }

    public static TheoryData<string, string, string> WrongTypes => new()
    {
        { "memoryMiB: \"256\"", "spec.memoryMiB", "must be an integer, got the string \"256\"" },
        { "timeoutSeconds: 1.5", "spec.timeoutSeconds", "must be an integer, got the number 1.5" },
        { "timeoutSeconds: 99999999999", "spec.timeoutSeconds", "must be an integer between -2147483648 and 2147483647, got 99999999999" },
        { "memoryMiB:", "spec.memoryMiB", "must be an integer, got an empty value (remove the line to use the default)" },
        { "environment:\n  A: b", "spec.environment", "must be a list, got a mapping" },
        { "environment:\n  - name: A\n    value: 42", "spec.environment[0].value", "must be a string, got the number 42 (quote it: \"42\")" },
        { "scaling: 3", "spec.scaling", "must be a mapping of fields, got the number 3" },
        { "serviceAccountName: true", "spec.serviceAccountName", "must be a string, got the boolean true (quote it: \"true\")" },
    };

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public void Wrong_type_says_what_was_expected_and_what_was_given(string extraSpec, string field, string message)
    {
        dir.NodeFunction("bad", "broken", extraSpec);

        var problem = Assert.Single(ManifestLoader.Load(dir.Root).Problems);

        Assert.Equal((field, message), (problem.Field, problem.Message));
    }

    [Fact]
    public void Unknown_fields_and_wrong_types_of_one_document_are_reported_together()
    {
        dir.NodeFunction("bad", "broken", "memoryMiB: lots\ntimeoutSecond: 3\nscaling:\n  maxReplica: 2");

        var problems = ManifestLoader.Load(dir.Root).Problems.Select(p => $"{p.Field}: {p.Message}").ToList();

        Assert.Equal(
            [
                "spec.memoryMiB: must be an integer, got the string \"lots\"",
                "spec.timeoutSecond: unknown field 'timeoutSecond' (did you mean 'timeoutSeconds'?)",
                "spec.scaling.maxReplica: unknown field 'maxReplica' (did you mean 'maxReplicas'?)",
            ],
            problems);
        Assert.DoesNotContain(problems, p => p.Contains("System.", StringComparison.Ordinal) || p.Contains("JSON", StringComparison.Ordinal));
    }
    [Fact]
    public void Layer_Alias_and_EventSourceMapping_documents_get_the_same_field_and_type_checks_and_are_not_loaded_half_read()
    {
        dir.NodeFunction("fn", "target");
        var file = dir.Write("fn/others.yaml", """
            apiVersion: fnoperator.io/v1alpha1
            kind: Layer
            metadata: {name: lib}
            spec:
              contnet: {path: src}
              compatibleRuntimes: nodejs22.x
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Alias
            metadata: {name: live}
            spec:
              functionName: target
              functionVersion: 1
              routingConfg: {}
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: EventSourceMapping
            metadata: {name: tick}
            spec:
              functionName: target
              batchSize: "ten"
            """);

        var set = ManifestLoader.Load(dir.Root);

        var display = ManifestLoader.DisplayPath(file);
        Assert.Equal(
            [
                $"{display} (document at line 1): spec.contnet: unknown field 'contnet' (did you mean 'content'?)",
                $"{display} (document at line 1): spec.compatibleRuntimes: must be a list, got the string \"nodejs22.x\"",
                $"{display} (document at line 8): spec.functionVersion: must be a string, got the number 1 (quote it: \"1\")",
                $"{display} (document at line 8): spec.routingConfg: unknown field 'routingConfg' (did you mean 'routingConfig'?)",
                $"{display} (document at line 16): spec.batchSize: must be an integer, got the string \"ten\"",
            ],
            set.Problems.Select(p => p.ToString()));
        Assert.Equal(["target"], set.Functions.Select(f => f.Name));
        Assert.Empty(set.Skipped);
        Assert.Empty(LayersManifest.Load(dir.Root).Layers);
        var (aliases, aliasProblems) = VersionAliasManifests.Load(dir.Root);
        Assert.Empty(aliases);
        Assert.Empty(aliasProblems); // no serializer message: the problems above say it in the user's words
    }
}
