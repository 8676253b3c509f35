/*
 * Test-only stand-in for Spring Cloud Zookeeper's payload class, so CuratorProbe can read
 * nodes the way a Spring application does without pulling in Spring.
 *
 * Shape mirrors org.springframework.cloud.zookeeper.discovery.ZookeeperInstance
 * (spring-cloud-zookeeper-discovery): fields id, name, metadata; a private no-arg
 * constructor for Jackson; getters and setters. The real class carries NO Jackson
 * annotations: the "@class" property in the JSON comes from Curator itself
 * (ServiceInstance#getPayload is annotated @JsonTypeInfo(use = CLASS, defaultImpl = Object)).
 *
 * Compiled into its own directory and put on the classpath only in "spring" mode, so the
 * "plain" reader behaves like a Curator client that does not have Spring's class.
 */
package org.springframework.cloud.zookeeper.discovery;

import java.util.HashMap;
import java.util.Map;

public class ZookeeperInstance {
	private String id;
	private String name;
	private Map<String, String> metadata = new HashMap<>();

	@SuppressWarnings("unused")
	private ZookeeperInstance() {
	}

	public ZookeeperInstance(String id, String name, Map<String, String> metadata) {
		this.id = id;
		this.name = name;
		this.metadata = metadata;
	}

	public String getId() {
		return this.id;
	}

	public String getName() {
		return this.name;
	}

	public void setId(String id) {
		this.id = id;
	}

	public void setName(String name) {
		this.name = name;
	}

	public Map<String, String> getMetadata() {
		return this.metadata;
	}

	public void setMetadata(Map<String, String> metadata) {
		this.metadata = metadata;
	}
}
