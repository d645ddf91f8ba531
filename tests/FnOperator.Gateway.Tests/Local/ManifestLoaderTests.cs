using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

public sealed class ManifestLoaderTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Folder_is_read_recursively_with_code_paths_relative_to_each_manifest()
    {
        dir.NodeFunction("a", "alpha", "memoryMiB: 256\ntimeoutSeconds: 7");
        dir.NodeFunction("nested/b", "beta");

        var set = ManifestLoader.Load(dir.Root);

        Assert.Empty(set.Problems);
        Assert.Equal(["alpha", "beta"], set.Functions.Select(f => f.Name).Order());
        var alpha = set.Functions.Single(f => f.Name == "alpha");
        Assert.Equal(Path.Combine(dir.Root, "a", "src"), alpha.CodeDirectory);
        Assert.Equal(256, alpha.Function.Spec.MemoryMiB);
        Assert.Equal(7, alpha.Function.Spec.TimeoutSeconds);
        Assert.Equal("default", alpha.Namespace);
    }

    [Fact]
    public void Multi_document_file_yields_functions_and_lists_other_kinds_as_not_served()
    {
        dir.Folder("code");
        var file = dir.Write("all.yaml", """
            apiVersion: fnoperator.io/v1alpha1
            kind: Layer
            metadata:
              name: shared
            spec: {}
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: one
              namespace: team-a
            spec:
              runtime: python3.12
              handler: app.handler
              code: { path: code }
              environment:
                - name: MODE
                  value: "42"
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Alias
            metadata:
              name: live
            ---
            """);

        var set = ManifestLoader.Load(file);

        Assert.Empty(set.Problems);
        var one = Assert.Single(set.Functions);
        Assert.Equal(("team-a", "one"), (one.Namespace, one.Name));
        Assert.Equal("42", one.Function.Spec.Environment![0].Value);
        Assert.Equal(["Alias live: routes invocations to the versions it names (see the Alias lines below)", "Layer shared: not served in local mode"],
            set.Skipped.Select(s => $"{s.Kind} {s.Name}: {s.Reason}").Order());
        var table = StartupTable.Render(set, set.Functions.ToDictionary(f => f, f => FunctionPool.LimitsFor(f.Function.Spec)), "http://127.0.0.1:9000", "fns");
        var otherAt = table.IndexOf("Other manifests:", StringComparison.Ordinal);
        var notServedAt = table.IndexOf("Not served in local mode:", StringComparison.Ordinal);
        Assert.True(otherAt >= 0 && notServedAt > otherAt, table);
        Assert.Contains("Alias live: routes invocations", table[otherAt..notServedAt], StringComparison.Ordinal);
        Assert.DoesNotContain("Alias", table[notServedAt..], StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> BadSpecs => new()
    {
        { "timeoutSeconds: 0", "spec.timeoutSeconds", "must be between 1 and 900 (got 0)" },
        { "timeoutSeconds: 901", "spec.timeoutSeconds", "must be between 1 and 900 (got 901)" },
        { "memoryMiB: 64", "spec.memoryMiB", "must be between 128 and 10240 (got 64)" },
        { "ephemeralStorageMiB: 20000", "spec.ephemeralStorageMiB", "must be between 512 and 10240 (got 20000)" },
        { "scaling:\n  maxReplicas: 0", "spec.scaling.maxReplicas", "must be between 1 and 1000 (got 0)" },
        { "async:\n  maximumRetryAttempts: 3", "spec.async.maximumRetryAttempts", "must be between 0 and 2 (got 3)" },
        { "concurrency:\n  reserved: 2\n  provisioned: 3", "spec.concurrency.provisioned", "must not exceed spec.concurrency.reserved (3 > 2)" },
        { "environment:\n  - name: AWS_REGION\n    value: x", "spec.environment[0].name", "'AWS_REGION' is reserved by Lambda" },
        { "environment:\n  - name: 1bad\n    value: x", "spec.environment[0].name", "must match ^[a-zA-Z_][a-zA-Z0-9_]*$ (got '1bad')" },
        { "async:\n  destinations:\n    onFailure: {}", "spec.async.destinations.onFailure", "exactly one of function, queue must be set" },
        { "logging:\n  applicationLogLevel: DEBUG", "spec.logging.logFormat", "applicationLogLevel and systemLogLevel require logFormat JSON" },
        { "logging:\n  logFormat: json", "spec.logging.logFormat", "must be one of Text, JSON (got 'json')" },
        { "timeout: 5", "spec.timeout", "unknown field 'timeout' (did you mean 'timeoutSeconds'?)" },
        { "memoryMiB: lots", "spec.memoryMiB", "must be an integer, got the string \"lots\"" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void Bad_field_is_reported_with_file_and_field_and_good_functions_still_load(string extraSpec, string field, string message)
    {
        var bad = dir.NodeFunction("bad", "broken", extraSpec);
        dir.NodeFunction("good", "fine");

        var set = ManifestLoader.Load(dir.Root);

        var problem = Assert.Single(set.Problems);
        Assert.Equal(ManifestLoader.DisplayPath(bad), problem.File);
        Assert.Equal(field, problem.Field);
        Assert.StartsWith(message, problem.Message, StringComparison.Ordinal);
        Assert.Equal(["fine"], set.Functions.Select(f => f.Name));
    }

    public static TheoryData<string, string, string> BadDocuments => new()
    {
        { "kind: Function\nmetadata: {name: x}\nspec: {}", "apiVersion", "required" },
        { "apiVersion: fnoperator.io/v1\nkind: Function\nmetadata: {name: x}\nspec: {}", "apiVersion", "must be fnoperator.io/v1alpha1 (got fnoperator.io/v1)" },
        { "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: Bad_Name}\nspec: {runtime: provided.al2023, code: {path: .}}", "metadata.name", "must be a DNS-1123 label" },
        { "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: cobol9, handler: a.b, code: {path: .}}", "spec.runtime", "unknown runtime 'cobol9'" },
        { "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: nodejs22.x, code: {path: .}}", "spec.handler", "required for runtime nodejs22.x" },
        { "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: provided.al2023, code: {path: missing}}", "spec.code.path", "folder" },
        { "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: provided.al2023, code: {path: ., image: a/b}}", "spec.code", "exactly one of image, url, configMap, path must be set (got 2)" },
        { "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: provided.al2023, code: {path: .}\n  bad indent", "", "invalid YAML at line" },
        { "- just\n- a list", "", "a manifest must be a mapping" },
    };

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public void Malformed_document_gets_a_clear_error(string yaml, string field, string message)
    {
        var file = dir.Write("fn.yaml", yaml);

        var set = ManifestLoader.Load(file);

        Assert.Empty(set.Functions);
        var problem = Assert.Single(set.Problems);
        Assert.Equal(field, problem.Field);
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
        Assert.StartsWith(ManifestLoader.DisplayPath(file), problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Error_line_reads_file_colon_field_colon_message()
    {
        var file = dir.NodeFunction("bad", "broken", "timeoutSeconds: 0");

        var problem = Assert.Single(ManifestLoader.Load(dir.Root).Problems);

        Assert.Equal($"{ManifestLoader.DisplayPath(file)}: spec.timeoutSeconds: must be between 1 and 900 (got 0)", problem.ToString());
    }

    [Fact]
    public void Duplicate_function_names_keep_the_first_and_report_the_second()
    {
        var first = dir.NodeFunction("a", "same");
        var second = dir.NodeFunction("b", "same");

        var set = ManifestLoader.Load(dir.Root);

        Assert.Equal(ManifestLoader.DisplayPath(first), Assert.Single(set.Functions).ManifestFile);
        var problem = Assert.Single(set.Problems);
        Assert.Equal(ManifestLoader.DisplayPath(second), problem.File);
        Assert.Contains("already defined in", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Functions_local_mode_cannot_run_are_skipped_with_the_reason()
    {
        dir.Folder("code");
        dir.Write("fns.yaml", """
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: from-image}
            spec: {code: {image: "public.ecr.aws/lambda/nodejs:22"}}
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: dotnet-unbuilt}
            spec: {runtime: dotnet8, handler: HelloDotnet, code: {path: publish}}
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: with-secret}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              code: {path: code}
              environment:
                - name: TOKEN
                  secretKeyRef: {name: s, key: k}
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: java}
            spec: {runtime: java21, handler: a.B::handle, code: {path: code}}
            """);

        var set = ManifestLoader.Load(dir.Root);

        Assert.Empty(set.Problems);
        Assert.Empty(set.Functions);
        var reasons = set.Skipped.ToDictionary(s => s.Name, s => s.Reason);
        Assert.Contains("container image", reasons["from-image"], StringComparison.Ordinal);
        Assert.Contains("needs prebuilt code", reasons["dotnet-unbuilt"], StringComparison.Ordinal);
        Assert.Contains("Secret or ConfigMap", reasons["with-secret"], StringComparison.Ordinal);
        Assert.Contains("no local runtime", reasons["java"], StringComparison.Ordinal);
    }

    [Fact]
    public void Unpublished_dotnet_function_names_the_project_to_publish_and_where()
    {
        dir.Write("shop/src/Orders.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        dir.Write("shop/tests/Orders.Tests/Orders.Tests.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        dir.Write("shop/function.yaml", """
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: orders}
            spec: {runtime: dotnet8, handler: "Orders::Orders.Function::Handle", code: {path: publish}}
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: other}
            spec: {runtime: dotnet10, handler: "Billing::Billing.Function::Handle", code: {path: out}}
            """);

        var reasons = ManifestLoader.Load(dir.Root).Skipped.ToDictionary(s => s.Name, s => s.Reason);

        var shop = ManifestLoader.DisplayPath(Path.Combine(dir.Root, "shop"));
        Assert.Equal(
            $"needs prebuilt code: published code {shop}/publish/Orders.dll does not exist (dotnet publish {shop}/src/Orders.csproj -c Release -o {shop}/publish)",
            reasons["orders"]);
        // Two projects, neither named for the handler's assembly: the hint cannot pick one.
        Assert.Equal(
            $"needs prebuilt code: published code {shop}/out/Billing.dll does not exist (dotnet publish <your .csproj> -c Release -o {shop}/out)",
            reasons["other"]);
    }

    [Fact]
    public void Missing_path_is_an_error_not_a_crash()
    {
        var set = ManifestLoader.Load(Path.Combine(dir.Root, "nope"));

        Assert.Equal("no such file or folder", Assert.Single(set.Problems).Message);
    }

    [Fact]
    public void Repository_examples_load_without_errors_and_serve_node_python_and_provided()
    {
        var examples = Path.Combine(RepoPaths.Root, "examples");

        var set = ManifestLoader.Load(examples);

        Assert.Empty(set.Problems);
        var names = set.Functions.Select(f => f.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "hello-node", "hello-python", "hello-provided", "flaky-worker", "record-success" }, names);
        if (!File.Exists(Path.Combine(examples, "hello-dotnet", "publish", "HelloDotnet.dll")))
        {
            Assert.Contains(set.Skipped, s => s.Name == "hello-dotnet" && s.Reason.Contains("needs prebuilt code", StringComparison.Ordinal));
        }
    }
}
