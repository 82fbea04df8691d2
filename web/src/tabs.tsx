import { useCallback, useEffect, useId, useRef, useState, type ComponentType, type KeyboardEvent } from 'react';

export interface TabDef {
  id: string;
  title: string;
  Panel: ComponentType;
}

const tabFromUrl = (tabs: readonly TabDef[]): string => {
  const t = new URLSearchParams(location.search).get('tab');
  return tabs.some((x) => x.id === t) ? t! : tabs[0]!.id;
};

/**
 * A page's sections as tabs (the WAI-ARIA tabs pattern): arrow keys, Home and End move between
 * them, Tab moves into the panel; `?tab=` names the tab (absent for the first), so a section can be
 * linked and the back button follows it.
 */
export function Tabs({ tabs, label }: { tabs: readonly TabDef[]; label: string }) {
  const id = useId();
  const [tab, setTab] = useState(() => tabFromUrl(tabs));
  const buttons = useRef<Record<string, HTMLButtonElement | null>>({});

  useEffect(() => {
    const onPop = () => setTab(tabFromUrl(tabs));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, [tabs]);

  const choose = useCallback(
    (t: string, focus = false) => {
      setTab(t);
      const url = t === tabs[0]!.id ? location.pathname : `${location.pathname}?tab=${t}`;
      if (url !== location.pathname + location.search) history.replaceState(null, '', url);
      if (focus) buttons.current[t]?.focus();
    },
    [tabs],
  );

  function onKey(e: KeyboardEvent) {
    const i = tabs.findIndex((x) => x.id === tab);
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : null;
    if (next === null) return;
    e.preventDefault();
    choose(tabs[(next + tabs.length) % tabs.length]!.id, true);
  }

  const current = tabs.find((t) => t.id === tab)!;
  return (
    <>
      <div role="tablist" aria-label={label} className="tabs" onKeyDown={onKey}>
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              buttons.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`${id}-tab-${t.id}`}
            aria-selected={t.id === tab}
            aria-controls={`${id}-panel`}
            tabIndex={t.id === tab ? 0 : -1}
            onClick={() => choose(t.id)}
          >
            {t.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel`} aria-labelledby={`${id}-tab-${current.id}`} className="tabpanel">
        <current.Panel key={current.id} />
      </div>
    </>
  );
}
