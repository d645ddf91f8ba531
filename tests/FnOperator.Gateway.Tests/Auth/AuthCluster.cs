using System.Net.Http.Headers;
using System.Text;
using FnOperator.Gateway.Auth;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;
using FnOperator.KubeApiServer;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>A gateway in required auth mode against the Kubernetes API test server (Secrets, RBAC, TokenReview, SubjectAccessReview).</summary>
public sealed class AuthCluster : IAsyncDisposable
{
    public const string KeyNamespace = "fn-system";

    private AuthCluster(KubeApiTestServer server, IKubernetes client, WebApplication app)
    {
        Server = server;
        Client = client;
        App = app;
        BaseAddress = GatewayApp.Addresses(app)[0];
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        Functions = app.Services.GetRequiredService<FunctionRegistry>();
    }

    public KubeApiTestServer Server { get; }

    public IKubernetes Client { get; }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Http { get; }

    public FunctionRegistry Functions { get; }

    public static AuthOptions Required => new()
    {
        Mode = AuthMode.Required,
        AccessKeyNamespace = KeyNamespace,
        KeyRefreshInterval = TimeSpan.FromSeconds(1),
        KeyRefreshMinInterval = TimeSpan.Zero,
    };

    public static async Task<AuthCluster> StartAsync(AuthOptions? auth = null, TimeProvider? time = null, Action<WebApplicationBuilder>? configure = null)
    {
        var server = await KubeApiTestServer.StartAsync();
        var client = server.CreateClient();
        var app = GatewayApp.Build(TestGateway.FastOptions with { Auth = auth ?? Required }, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(client);
            if (time is not null)
            {
                builder.Services.TryAddSingleton(time);
            }

            configure?.Invoke(builder);
        });
        await app.StartAsync();
        return new AuthCluster(server, client, app);
    }

    public FunctionKey Add(string ns, string name)
    {
        var key = new FunctionKey(ns, name);
        Functions.Upsert(key, new FnOperator.Api.FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3 });
        return key;
    }

    /// <summary>An access-key Secret as the platform team creates it (docs/security.md).</summary>
    public Task AddKeyAsync(string secretName, string accessKeyId, string secretAccessKey, string user, string? groups = null) =>
        Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = secretName,
                Labels = new Dictionary<string, string> { [SecretAccessKeyStore.Label] = "true" },
                Annotations = groups is null
                    ? new Dictionary<string, string> { [SecretAccessKeyStore.UserAnnotation] = user }
                    : new Dictionary<string, string> { [SecretAccessKeyStore.UserAnnotation] = user, [SecretAccessKeyStore.GroupsAnnotation] = groups },
            },
            Data = new Dictionary<string, byte[]>
            {
                [SecretAccessKeyStore.AccessKeyIdKey] = Encoding.UTF8.GetBytes(accessKeyId),
                [SecretAccessKeyStore.SecretAccessKeyKey] = Encoding.UTF8.GetBytes(secretAccessKey),
            },
        }, KeyNamespace);

    /// <summary>kubectl create role fn-invoker --verb=invoke --resource=functions.fnoperator.io + a RoleBinding to the subject.</summary>
    public async Task GrantAsync(string ns, Rbacv1Subject subject, string bindingName = "fn-invoker", params string[] verbs)
    {
        await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = bindingName },
            Rules = [new V1PolicyRule { ApiGroups = ["fnoperator.io"], Resources = ["functions"], Verbs = verbs.Length == 0 ? ["invoke"] : verbs }],
        }, ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = bindingName },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = bindingName },
            Subjects = [subject],
        }, ns);
    }

    public static Rbacv1Subject User(string name) => new() { Kind = "User", Name = name, ApiGroup = "rbac.authorization.k8s.io" };

    public static Rbacv1Subject Group(string name) => new() { Kind = "Group", Name = name, ApiGroup = "rbac.authorization.k8s.io" };

    public static Rbacv1Subject ServiceAccount(string ns, string name) => new() { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns };

    /// <summary>A ServiceAccount and a token for it from the TokenRequest API.</summary>
    public async Task<string> ServiceAccountTokenAsync(string ns, string name)
    {
        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = name } }, ns);
        var request = await Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { Audiences = [] } }, name, ns);
        return request.Status.Token;
    }

    /// <summary>A DryRun invoke (204 once authorized; no worker needed) with an optional bearer token.</summary>
    public Task<HttpResponseMessage> DryRunAsync(string functionName, string? token = null)
    {
        var request = TestGateway.Invoke(functionName, type: "DryRun");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return Http.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Server.DisposeAsync();
    }
}
