using FnOperator.CrdGen;

// make crds: dotnet run --project operator/FnOperator.CrdGen -- <output dir>...  (paths relative to the current directory)
if (args.Length == 0 || args.Any(a => a is "-h" or "--help"))
{
    Console.Error.WriteLine("usage: FnOperator.CrdGen <output-dir> [<output-dir>...]");
    Console.Error.WriteLine("Writes one CustomResourceDefinition YAML per kind (functions.fnoperator.io.yaml, ...) into each directory.");
    return args.Length == 0 ? 2 : 0;
}

try
{
    foreach (var directory in args)
    {
        foreach (var path in CrdWriter.WriteTo(directory))
        {
            Console.WriteLine($"wrote {path}");
        }
    }

    return 0;
}
catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"crdgen: {e.Message}");
    return 1;
}
