namespace FnOperator.RuntimeShim;

/// <summary>`runtime-shim install &lt;dir&gt;`: copies the shim's own files and its bootstraps into a directory (the pod's init container).</summary>
public static class Installer
{
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count != 2 || string.IsNullOrWhiteSpace(args[1]))
        {
            error.WriteLine("usage: runtime-shim install <dir>");
            return 2;
        }

        try
        {
            var count = Install(AppContext.BaseDirectory, args[1]);
            output.WriteLine($"Installed runtime-shim ({count} files) into {Path.GetFullPath(args[1])}");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"runtime-shim install failed: {e.Message}");
            return 1;
        }
    }

    /// <summary>Copies every file under <paramref name="source"/> (keeping sub-directories and file modes); returns the count.</summary>
    public static int Install(string source, string target)
    {
        var count = 0;
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination, overwrite: true);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(destination, File.GetUnixFileMode(file));
            }

            count++;
        }

        return count;
    }
}
