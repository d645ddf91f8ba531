namespace FnOperator.Chart.Tests;

/// <summary>Paths in the repository, found by walking up from the test binaries to the folder holding FnOperator.sln.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Chart => Path.Combine(Root, "charts", "fn-operator");

    public static string At(params string[] parts) => Path.Combine([Root, .. parts]);

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
