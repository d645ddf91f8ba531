using System.Collections;

namespace FnOperator.RuntimeShim.Tests;

/// <summary>
/// The layer search paths in the runtime's environment, per runtime, as RuntimeLaunch.Environment merges them (the
/// inherited variables, the Lambda ones, then the layer paths): /opt in a pod, FNOP_LAYERS_ROOT in local mode.
/// </summary>
public sealed class LayerEnvironmentTests
{
    private static Dictionary<string, string> RuntimeEnv(string runtime, string? layersRoot, Hashtable? inherited = null)
    {
        var shim = new Hashtable { ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = runtime, ["LAMBDA_TASK_ROOT"] = "/var/task" };
        if (layersRoot is not null)
        {
            shim["FNOP_LAYERS_ROOT"] = layersRoot;
        }

        return RuntimeLaunch.Environment(ShimOptions.FromEnvironment(shim), "127.0.0.1:9001", inherited ?? new Hashtable { ["LAMBDA_RUNTIME_DIR"] = "/var/runtime" });
    }

    public static TheoryData<string, string?, string, string?> Paths => new()
    {
        // runtime, FNOP_LAYERS_ROOT, variable, expected value (null: not set)
        { "nodejs22.x", null, "NODE_PATH", "/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task" },
        { "nodejs20.x", null, "NODE_PATH", "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task" },
        { "nodejs18.x", null, "NODE_PATH", "/opt/nodejs/node18/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task" },
        { "nodejs22.x", "/state/layers/fn", "NODE_PATH", "/state/layers/fn/nodejs/node22/node_modules:/state/layers/fn/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task" },
        { "python3.12", null, "PYTHONPATH", "/var/task:/opt/python/lib/python3.12/site-packages:/opt/python" },
        { "python3.9", null, "PYTHONPATH", "/var/task:/opt/python/lib/python3.9/site-packages:/opt/python" },
        { "python3.13", "/state/layers/fn/", "PYTHONPATH", "/var/task:/state/layers/fn/python/lib/python3.13/site-packages:/state/layers/fn/python" },
        { "python3.12", null, "NODE_PATH", null },
        { "nodejs22.x", null, "PYTHONPATH", null },
        { "nodejs22.x", null, "PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin" },
        { "python3.12", null, "LD_LIBRARY_PATH", "/lib64:/usr/lib64:/opt/lib" },
        { "provided.al2023", null, "PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin" },
        { "provided.al2023", null, "LD_LIBRARY_PATH", "/lib64:/usr/lib64:/opt/lib" },
        { "provided.al2023", "/state/layers/fn", "PATH", "/usr/local/bin:/usr/bin/:/bin:/state/layers/fn/bin" },
        { "dotnet8", "/state/layers/fn", "LD_LIBRARY_PATH", "/lib64:/usr/lib64:/state/layers/fn/lib" },
        // every variable for every runtime family: the ones a runtime does not use stay unset
        { "nodejs22.x", null, "LD_LIBRARY_PATH", "/lib64:/usr/lib64:/opt/lib" },
        { "python3.12", null, "PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin" },
        { "python3.12", "/state/layers/fn", "LD_LIBRARY_PATH", "/lib64:/usr/lib64:/state/layers/fn/lib" },
        { "dotnet8", null, "PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin" },
        { "dotnet8", null, "NODE_PATH", null },
        { "dotnet8", null, "PYTHONPATH", null },
        { "provided.al2023", null, "NODE_PATH", null },
        { "provided.al2023", null, "PYTHONPATH", null },
        { "provided.al2", null, "LD_LIBRARY_PATH", "/lib64:/usr/lib64:/opt/lib" },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Layer_paths_are_set_as_lambda_sets_them(string runtime, string? layersRoot, string variable, string? expected)
    {
        var env = RuntimeEnv(runtime, layersRoot);

        Assert.Equal(expected, env.GetValueOrDefault(variable));
    }

    [Fact]
    public void Inherited_path_keeps_its_entries_and_gets_the_layer_entries_once()
    {
        var inherited = new Hashtable
        {
            ["PATH"] = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin", // the AWS base image's, already with /opt/bin
            ["LD_LIBRARY_PATH"] = "/var/lang/lib:/lib64",
            ["NODE_PATH"] = "/custom/node_modules", // the function's own wins, as in Lambda
            ["FNOP_FUNCTION_ENV"] = "NODE_PATH", // how the operator and local mode name the function's own variables
        };

        var env = RuntimeEnv("nodejs22.x", null, inherited);

        Assert.Equal("/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin", env["PATH"]);
        Assert.Equal("/var/lang/lib:/lib64:/opt/lib", env["LD_LIBRARY_PATH"]);
        Assert.Equal("/custom/node_modules", env["NODE_PATH"]);
        Assert.False(env.ContainsKey("FNOP_LAYERS_ROOT"));
    }

    [Fact]
    public void Provided_bootstrap_is_looked_up_in_the_task_root_then_in_the_layers()
    {
        var root = Directory.CreateTempSubdirectory("fnop-layers-test-");
        try
        {
            var task = Directory.CreateDirectory(Path.Combine(root.FullName, "task")).FullName;
            var opt = Directory.CreateDirectory(Path.Combine(root.FullName, "opt")).FullName;
            File.WriteAllText(Path.Combine(opt, "bootstrap"), "#!/bin/sh\n");
            var options = ShimOptions.FromEnvironment(new Hashtable
            {
                ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = "provided.al2023", ["LAMBDA_TASK_ROOT"] = task, ["FNOP_LAYERS_ROOT"] = opt,
            });

            Assert.Equal(Path.Combine(opt, "bootstrap"), RuntimeLaunch.Resolve(options).File);

            File.WriteAllText(Path.Combine(task, "bootstrap"), "#!/bin/sh\n");
            Assert.Equal(Path.Combine(task, "bootstrap"), RuntimeLaunch.Resolve(options).File);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void Without_fnop_layers_root_the_bootstrap_fallback_is_opt()
    {
        var options = ShimOptions.FromEnvironment(new Hashtable { ["AWS_LAMBDA_FUNCTION_NAME"] = "fn", ["FNOP_RUNTIME"] = "provided.al2", ["LAMBDA_TASK_ROOT"] = "/nonexistent-task" });

        var error = Assert.Throws<RuntimeLaunchException>(() => RuntimeLaunch.Resolve(options));

        Assert.Equal("Couldn't find valid bootstrap(s): [/nonexistent-task/bootstrap /opt/bootstrap]", error.Message);
    }
}
