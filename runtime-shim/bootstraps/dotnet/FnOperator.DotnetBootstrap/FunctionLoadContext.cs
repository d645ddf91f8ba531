using System.Reflection;
using System.Runtime.Loader;

namespace FnOperator.DotnetBootstrap;

/// <summary>
/// The function's assemblies, isolated from the bootstrap's: resolved through the function assembly's .deps.json
/// (AssemblyDependencyResolver), then by file name in the task root; anything else (the shared framework) comes from
/// the default context, shared with the bootstrap.
/// </summary>
public sealed class FunctionLoadContext(string mainAssemblyPath) : AssemblyLoadContext("function", isCollectible: false)
{
    private readonly AssemblyDependencyResolver resolver = new(mainAssemblyPath);
    private readonly string directory = Path.GetDirectoryName(mainAssemblyPath)!;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var path = resolver.ResolveAssemblyToPath(assemblyName);
        if (path is null && assemblyName.Name is { } name)
        {
            var candidate = Path.Combine(directory, name + ".dll");
            path = File.Exists(candidate) ? candidate : null;
        }

        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
