namespace FnOperator.Api;

/// <summary>The fnoperator.io API group and version shared by every custom resource of the project.</summary>
public static class ApiGroup
{
    public const string Group = "fnoperator.io";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;
}
