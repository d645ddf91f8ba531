using FnOperator.Api;
using k8s.Models;

namespace FnOperator.Operator.Tests;

/// <summary>Valid Function objects for tests (they pass the CRD schema the API test server enforces).</summary>
public static class TestFunctions
{
    public const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    public static Function Node(string name = "hello", string ns = "default", Action<FunctionSpec>? change = null)
    {
        var fn = new Function
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Uid = "uid-" + name, Generation = 1 },
            Spec = new FunctionSpec
            {
                Runtime = "nodejs22.x",
                Handler = "index.handler",
                Code = new FunctionCode { Url = "https://code.example.com/hello.zip", Sha256 = Sha },
            },
        };
        change?.Invoke(fn.Spec);
        return fn;
    }
}
