namespace FnOperator.Operator.Tests;

/// <summary>Paths in the repository, found by walking up from the test binaries to the folder holding FnOperator.sln.</summary>
public static class RepoRoot
{
    public static string Path { get; } = Find();

    public static string Crds => System.IO.Path.Combine(Path, "crds");

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"FnOperator.sln not found above {AppContext.BaseDirectory}");
    }
}
