using System.Reflection;

namespace FnOperator.DotnetBootstrap;

/// <summary>
/// Resolves `Assembly::Namespace.Type::Method` in the task root as Lambda's .NET runtime does, with its error
/// messages (LambdaValidationException), and runs the handler type's constructor once (init).
/// </summary>
public static class HandlerLoader
{
    private const string Format = "The valid format is 'ASSEMBLY::TYPE::METHOD'.";

    public static HandlerInvoker Load(string handler, string taskRoot)
    {
        var parts = handler.Split("::");
        if (string.IsNullOrWhiteSpace(handler))
        {
            throw new LambdaValidationException($"Empty lambda function handler. {Format}");
        }

        if (parts.Length != 3)
        {
            throw new LambdaValidationException($"Invalid lambda function handler: '{handler}'. {Format}");
        }

        var (assemblyName, typeName, methodName) = (parts[0].Trim(), parts[1].Trim(), parts[2].Trim());
        foreach (var (value, what) in new[] { (assemblyName, "assembly"), (typeName, "type"), (methodName, "method") })
        {
            if (value.Length == 0)
            {
                throw new LambdaValidationException($"Invalid lambda function handler: '{handler}', the {what} is missing. {Format}");
            }
        }

        var assembly = LoadAssembly(taskRoot, assemblyName);
        var type = LoadType(assembly, typeName, assemblyName);
        var method = FindMethod(type, methodName, assemblyName);
        object? instance = null;
        if (!method.IsStatic)
        {
            if (type.IsAbstract)
            {
                throw new LambdaValidationException($"The instance method '{method.Name}' cannot be used as a Lambda Handler because its type '{type.FullName}' is abstract. Please either use a static handler or specify a type that is not abstract.");
            }

            // The constructor is the function's init code; its exception (unwrapped) is the init error.
            instance = Activator.CreateInstance(type, nonPublic: true);
        }

        return new HandlerInvoker(method, instance, ReflectedSerializer.For(method));
    }

    private static Assembly LoadAssembly(string taskRoot, string assemblyName)
    {
        var path = Path.Combine(taskRoot, assemblyName + ".dll");
        if (!File.Exists(path))
        {
            throw new LambdaValidationException($"Could not find the specified handler assembly with the file name '{assemblyName}, Culture=neutral, PublicKeyToken=null'. The assembly should be located in the root of your uploaded .zip file.");
        }

        try
        {
            return new FunctionLoadContext(Path.GetFullPath(path)).LoadFromAssemblyPath(Path.GetFullPath(path));
        }
        catch (BadImageFormatException e)
        {
            throw new LambdaValidationException($"Unable to load assembly '{assemblyName}'.", e);
        }
    }

    private static Type LoadType(Assembly assembly, string typeName, string assemblyName)
    {
        var type = assembly.GetType(typeName, throwOnError: false)
            ?? throw new LambdaValidationException($"Unable to load type '{typeName}' from assembly '{assemblyName}'.");
        if (type.IsGenericTypeDefinition)
        {
            throw new LambdaValidationException($"The type '{typeName}' cannot be used as a Lambda Handler type because it is generic. Handler methods cannot be located in generic types. Please specify a handler method in a non-generic type.");
        }

        return type;
    }

    private static MethodInfo FindMethod(Type type, string methodName, string assemblyName)
    {
        var candidates = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.FlattenHierarchy)
            .Where(m => m.Name == methodName)
            .ToList();
        if (candidates.Count == 0)
        {
            throw new LambdaValidationException($"Unable to find method '{methodName}' in type '{type.FullName}' from assembly '{assemblyName}': Found no methods matching method name '{methodName}'.");
        }

        if (candidates.Count > 1)
        {
            var list = string.Join("\n", candidates.Select(m => m.ToString()));
            throw new LambdaValidationException($"The method '{methodName}' in type '{type.FullName}' appears to have a number of overloads. To call this method please specify a complete method signature. Possible candidates are:\n{list}.");
        }

        var method = candidates[0];
        if (method.IsGenericMethodDefinition)
        {
            throw new LambdaValidationException($"The method '{methodName}' cannot be used as a Lambda Handler because it is a generic method. Handler methods cannot be generic. Please specify a non-generic handler method.");
        }

        if (method.ReturnType == typeof(void) && method.GetCustomAttributes().Any(a => a.GetType().Name == "AsyncStateMachineAttribute"))
        {
            throw new LambdaValidationException($"The method '{methodName}' cannot be used as a Lambda Handler because it is an 'async void' method. Handler methods cannot be 'async void'. Please specify a method that is not 'async void'.");
        }

        var parameters = method.GetParameters();
        if (parameters.Length > 2)
        {
            throw new LambdaValidationException($"Method '{methodName}' of type '{type.FullName}' is not supported: the method has more than 2 parameters.");
        }

        if (parameters.Length == 2 && !HandlerInvoker.IsContext(parameters[1].ParameterType))
        {
            throw new LambdaValidationException($"Method '{methodName}' of type '{type.FullName}' is not supported: the method has 2 parameters, but the second parameter is not of type 'Amazon.Lambda.Core.ILambdaContext'.");
        }

        return method;
    }
}
