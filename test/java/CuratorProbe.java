/*
 * A real Apache Curator 5 client for tests: the bytes Curator writes, what Curator and
 * Spring Cloud Zookeeper readers make of a ZooKeeper tree, and a self-registered Curator
 * instance. Compiled and run by test/support/curator.ts; never part of the product.
 *
 *   serialize <spring|none> <name> <id> <address> <port> <registrationTimeUTC> <uriSpec|-> [key=value ...]
 *       prints (no newline) the bytes JsonInstanceSerializer writes for that instance;
 *       "-" means uriSpec null; key=value pairs become the Spring payload's metadata, in order.
 *   read <connect> <basePath> <service> <spring|plain>
 *       ServiceDiscovery.queryForInstances(service), one JSON line per instance. "spring" reads
 *       with Spring's payload class and keeps what Spring's load balancer keeps (metadata
 *       instance_status absent, blank or UP); "plain" reads with payload class Object and
 *       without Spring on the classpath, like any non-Spring Curator client.
 *       On failure prints {"error":...} and exits 1.
 *   register <connect> <basePath> <service> <id> <address> <port> [none|spring] [sessionTimeoutMs]
 *       ServiceDiscovery.registerService, prints {"registered":<path>} and holds the session
 *       until stdin closes or SIGTERM (then closes cleanly, which deletes the node).
 */
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.URI;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceInstanceBuilder;
import org.apache.curator.x.discovery.ServiceType;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public final class CuratorProbe {
	/* Loaded by name: the plain reader runs without this class on its classpath. */
	private static final String SPRING_PAYLOAD = "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance";
	private static final ObjectMapper JSON = new ObjectMapper();

	public static void main(String[] args) throws Exception {
		if (args.length == 0) usage();
		switch (args[0]) {
			case "serialize" -> serialize(args);
			case "read" -> read(args);
			case "register" -> register(args);
			default -> usage();
		}
	}

	private static void usage() {
		System.err.println("usage: CuratorProbe serialize|read|register ... (see the source header)");
		System.exit(2);
	}

	@SuppressWarnings({"unchecked", "rawtypes"})
	private static void serialize(String[] a) throws Exception {
		if (a.length < 8) usage();
		String style = a[1];
		Map<String, String> metadata = new LinkedHashMap<>();
		for (int i = 8; i < a.length; i++) {
			int eq = a[i].indexOf('=');
			metadata.put(a[i].substring(0, eq), a[i].substring(eq + 1));
		}
		Object payload = style.equals("spring") ? springPayload(a[3], a[2], metadata) : null;
		ServiceInstanceBuilder b = ServiceInstance.builder()
				.name(a[2])
				.id(a[3])
				.address(a[4])
				.port(Integer.parseInt(a[5]))
				.registrationTimeUTC(Long.parseLong(a[6]))
				.serviceType(ServiceType.DYNAMIC)
				.payload(payload);
		if (!a[7].equals("-")) b.uriSpec(new UriSpec(a[7]));
		ServiceInstance instance = b.build();
		Class payloadClass = payload == null ? Object.class : payload.getClass();
		// The one-argument constructor is what ServiceDiscoveryBuilder uses by default.
		byte[] bytes = new JsonInstanceSerializer(payloadClass).serialize(instance);
		System.out.write(bytes);
		System.out.flush();
	}

	@SuppressWarnings({"unchecked", "rawtypes"})
	private static void read(String[] a) throws Exception {
		if (a.length != 5) usage();
		boolean spring = a[4].equals("spring");
		int code = 0;
		try (CuratorFramework client = connect(a[1], 15_000)) {
			Class payloadClass = spring ? Class.forName(SPRING_PAYLOAD) : Object.class;
			ServiceDiscovery discovery = ServiceDiscoveryBuilder.builder(payloadClass)
					.client(client)
					.basePath(a[2])
					.serializer(new JsonInstanceSerializer(payloadClass))
					.watchInstances(false)
					.build();
			discovery.start();
			try {
				Collection<ServiceInstance<Object>> instances = discovery.queryForInstances(a[3]);
				StringBuilder out = new StringBuilder();
				for (ServiceInstance<Object> i : instances) {
					ObjectNode line = JSON.createObjectNode();
					line.put("id", i.getId());
					line.put("name", i.getName());
					line.put("address", i.getAddress());
					line.putPOJO("port", i.getPort());
					line.putPOJO("sslPort", i.getSslPort());
					line.put("enabled", i.isEnabled());
					line.put("uri", i.buildUriSpec());
					Map<String, String> metadata = null;
					if (spring) {
						// What ZookeeperServiceInstance's constructor does (it would throw here too).
						int port = i.getSslPort() != null ? i.getSslPort() : i.getPort();
						URI uri = URI.create(i.buildUriSpec());
						line.put("springPort", port);
						line.put("springUriHost", uri.getHost());
						metadata = springMetadata(i.getPayload());
						String status = metadata == null ? null : metadata.get("instance_status");
						if (status != null && !status.isBlank() && !status.equalsIgnoreCase("UP")) continue;
					} else if (i.getPayload() != null) {
						line.put("payloadClass", i.getPayload().getClass().getName());
					}
					line.putPOJO("metadata", metadata);
					out.append(JSON.writeValueAsString(line)).append('\n');
				}
				System.out.print(out);
			} finally {
				discovery.close();
			}
		} catch (Exception e) {
			ObjectNode err = JSON.createObjectNode();
			err.put("error", e.getClass().getName() + ": " + e.getMessage());
			System.out.println(JSON.writeValueAsString(err));
			code = 1;
		}
		System.out.flush();
		System.exit(code);
	}

	@SuppressWarnings({"unchecked", "rawtypes"})
	private static void register(String[] a) throws Exception {
		if (a.length < 7) usage();
		String style = a.length > 7 ? a[7] : "none";
		int sessionTimeoutMs = a.length > 8 ? Integer.parseInt(a[8]) : 5_000;
		CuratorFramework client = connect(a[1], sessionTimeoutMs);
		Object payload = style.equals("spring") ? springPayload(a[4], a[3], Map.of("instance_status", "UP")) : null;
		Class payloadClass = payload == null ? Object.class : payload.getClass();
		ServiceInstance instance = ServiceInstance.builder()
				.name(a[3])
				.id(a[4])
				.address(a[5])
				.port(Integer.parseInt(a[6]))
				.payload(payload)
				.uriSpec(new UriSpec("{scheme}://{address}:{port}"))
				.build();
		ServiceDiscovery discovery = ServiceDiscoveryBuilder.builder(payloadClass)
				.client(client)
				.basePath(a[2])
				.serializer(new JsonInstanceSerializer(payloadClass))
				.build();
		discovery.start();
		discovery.registerService(instance);
		Runtime.getRuntime().addShutdownHook(new Thread(() -> {
			try {
				discovery.close(); // unregisters: the node goes at once
			} catch (Exception ignored) {
				// the session ends with the process anyway
			}
			client.close();
		}));
		ObjectNode line = JSON.createObjectNode();
		line.put("registered", a[2] + "/" + a[3] + "/" + a[4]);
		System.out.println(JSON.writeValueAsString(line));
		System.out.flush();
		InputStream in = System.in;
		while (in.read() != -1) {
			// hold the session until stdin closes
		}
		System.exit(0);
	}

	private static CuratorFramework connect(String connect, int sessionTimeoutMs) throws Exception {
		CuratorFramework client = CuratorFrameworkFactory.newClient(connect, sessionTimeoutMs, 5_000, new RetryNTimes(3, 200));
		client.start();
		if (!client.blockUntilConnected(15, TimeUnit.SECONDS)) {
			client.close();
			throw new IllegalStateException("could not connect to ZooKeeper at " + connect);
		}
		return client;
	}

	private static Object springPayload(String id, String name, Map<String, String> metadata) throws Exception {
		Constructor<?> c = Class.forName(SPRING_PAYLOAD).getConstructor(String.class, String.class, Map.class);
		return c.newInstance(id, name, metadata);
	}

	@SuppressWarnings("unchecked")
	private static Map<String, String> springMetadata(Object payload) throws Exception {
		if (payload == null) return null;
		Method m = payload.getClass().getMethod("getMetadata");
		return (Map<String, String>) m.invoke(payload);
	}

	static {
		// No JAAS configuration in tests: skip ZooKeeper's SASL attempt.
		System.setProperty("zookeeper.sasl.client", "false");
	}

	private CuratorProbe() {}
}
