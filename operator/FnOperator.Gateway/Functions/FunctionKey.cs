namespace FnOperator.Gateway.Functions;

/// <summary>Identifies a Function: its Kubernetes namespace and metadata.name.</summary>
public sealed record FunctionKey(string Namespace, string Name)
{
    public const string DefaultNamespace = "default";

    public override string ToString() => $"{Namespace}/{Name}";
}

/// <summary>A function name resolved to one version of a registered Function.</summary>
/// <param name="Key">The Function.</param>
/// <param name="Version">"$LATEST" or a published version number.</param>
/// <param name="Spec">The Function's spec.</param>
/// <param name="FunctionArn">The unqualified ARN of the function (destination records, GetFunction).</param>
/// <param name="InvokedFunctionArn">The ARN as invoked, with the qualifier when one was given (handed to the runtime).</param>
public sealed record ResolvedFunction(
    FunctionKey Key,
    string Version,
    FnOperator.Api.FunctionSpec Spec,
    string FunctionArn,
    string InvokedFunctionArn);
