namespace FnOperator.Api.Tests;

/// <summary>Locates the repository root: the folder holding FnOperator.sln above the test binaries.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Crds => Path.Combine(Root, "crds");

    public static string ChartCrds => Path.Combine(Root, "charts", "fn-operator", "crds");

    public static string Examples => Path.Combine(Root, "examples");

    public static string Malformed => Path.Combine(Root, "tests", "FnOperator.Api.Tests", "Malformed");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No FnOperator.sln above {AppContext.BaseDirectory}.");
    }
}
